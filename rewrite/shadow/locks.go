package shadow

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// TableBits is log2 of the number of locks in a lock table.
const TableBits = 8

// tableLock is a lock type kept in a static table of locks: the static
// initialiser of one slot (taking the table's name, for lockdep) and the
// init function the upstream code calls on it, which the rewrite replaces
// with a call of an empty function of its own.
type tableLock struct {
	initializer string
	initFn      string
}

// tableLocks are the lock types that can be statically initialised slot by
// slot. Sleeping locks (struct mutex, struct rw_semaphore) and seqlock_t
// have initialisers that name the lock itself, which a range initialiser
// cannot do.
var tableLocks = map[string]tableLock{
	"spinlock_t":     {"__SPIN_LOCK_UNLOCKED", "spin_lock_init"},
	"raw_spinlock_t": {"__RAW_SPIN_LOCK_UNLOCKED", "raw_spin_lock_init"},
	"rwlock_t":       {"__RW_LOCK_UNLOCKED", "rwlock_init"},
}

var (
	acquireRE = regexp.MustCompile(`^(spin_lock|spin_lock_bh|spin_lock_irq|spin_lock_irqsave|spin_trylock|spin_trylock_bh|spin_trylock_irq|spin_trylock_irqsave|raw_spin_lock|raw_spin_lock_bh|raw_spin_lock_irq|raw_spin_lock_irqsave|raw_spin_trylock|raw_spin_trylock_irqsave|read_lock|read_lock_bh|read_lock_irq|read_lock_irqsave|read_trylock|write_lock|write_lock_bh|write_lock_irq|write_lock_irqsave|write_trylock)$`)
	releaseRE = regexp.MustCompile(`^(spin_unlock|spin_unlock_bh|spin_unlock_irq|spin_unlock_irqrestore|raw_spin_unlock|raw_spin_unlock_bh|raw_spin_unlock_irq|raw_spin_unlock_irqrestore|read_unlock|read_unlock_bh|read_unlock_irq|read_unlock_irqrestore|write_unlock|write_unlock_bh|write_unlock_irq|write_unlock_irqrestore)$`)
	nestedRE  = regexp.MustCompile(`^(spin_lock_nested|spin_lock_irqsave_nested|spin_lock_bh_nested|raw_spin_lock_nested|raw_spin_lock_irqsave_nested|spin_lock_nest_lock|raw_spin_lock_nest_lock)$`)
)

// tableName is the name of a member's lock table.
func tableName(m *member.Member) string {
	return member.TagOf(m.Key) + "_" + m.Name + "_table"
}

// tableCode renders the lock table of a member and its accessor for file
// f: the first file of the member's users defines the table (static when
// it is the only user), the others declare it.
func tableCode(pl *plan, f string) string {
	m := pl.m
	tl := tableLocks[pl.typ]
	bits := strings.ToUpper(member.TagOf(m.Key)+"_"+m.Name) + "_TABLE_BITS"
	table := pl.table
	var b strings.Builder
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s in a table of locks.", gen.Banner, m.Key, m.Name)},
		gen.Wrap(fmt.Sprintf(gen.Generated+" %s has no %s in the running kernel and must keep its layout: the lock of an object is the one of %d statically initialised locks its address hashes to (hash_ptr, as the kernel's hashed wait queues do). Nothing is allocated, so the lock is never NULL, lock and unlock always find the same lock, objects created before the livepatch have theirs, and nothing is left to free. Objects whose addresses hash alike share a lock; the patched code never holds two of these locks at once, so sharing only adds contention.",
			m.Key, m.Name, 1<<TableBits), 76)...)...))
	fmt.Fprintf(&b, "#define %s\t%d\n\n", bits, TableBits)
	size := "1 << " + bits
	first := len(m.Files) == 0 || m.Files[0] == f
	switch {
	case first:
		storage := "static "
		if len(m.Files) > 1 {
			storage = ""
		}
		fmt.Fprintf(&b, "%s%s %s[%s] = {\n", storage, pl.typ, table, size)
		fmt.Fprintf(&b, "\t[0 ... (%s) - 1] =\n\t\t%s(%s),\n};\n", size, tl.initializer, table)
	default:
		fmt.Fprintf(&b, "extern %s %s[%s];\n", pl.typ, table, size)
	}
	fmt.Fprintf(&b, "\nstatic inline %s *%s(const %s *s)\n{\n", pl.typ, m.Ptr, m.Key)
	fmt.Fprintf(&b, "\treturn &%s[hash_ptr(s, %s)];\n}\n", table, bits)
	if pl.inits[f] {
		b.WriteString("\n" + gen.Comment("", gen.Wrap(fmt.Sprintf("%s: what upstream's %s() of the lock becomes. The table's locks are initialised statically, and initialising a slot another object's code may hold would break it: there is nothing to do.", gen.Banner, tl.initFn), 76)...))
		fmt.Fprintf(&b, "static inline void %s(const %s *s)\n{\n}\n", pl.initFn, m.Key)
	}
	return b.String()
}

// replaceInit claims a use that is the whole statement "init_fn(&obj->m);"
// and makes it a call of the table's empty init function: the table's
// locks are initialised statically, and initialising a slot that another
// object's code may hold would break it.
func replaceInit(pl *plan) func(string, []byte, *cexpr.Access) (int, int, string, bool) {
	drop := dropInit(pl)
	return func(file string, src []byte, a *cexpr.Access) (int, int, string, bool) {
		off, end, ok := drop(file, src, a)
		if !ok {
			return 0, 0, "", false
		}
		if pl.inits == nil {
			pl.inits = map[string]bool{}
		}
		pl.inits[file] = true
		indent := off
		for indent < end && (src[indent] == ' ' || src[indent] == '\t') {
			indent++
		}
		obj := string(src[a.Object.Off:a.Object.End])
		return off, end, string(src[off:indent]) + pl.initFn + "(" + cexpr.AddressOf(obj, a.Arrow) + ");\n", true
	}
}

// dropInit finds a use that is the whole statement "init_fn(&obj->m);"
// and returns the statement's lines.
func dropInit(pl *plan) func(string, []byte, *cexpr.Access) (int, int, bool) {
	initFn := tableLocks[pl.typ].initFn
	return func(_ string, src []byte, a *cexpr.Access) (int, int, bool) {
		i := skipBack(src, a.Object.Off)
		if i < 0 || src[i] != '&' {
			return 0, 0, false
		}
		i = skipBack(src, i)
		if i < 0 || src[i] != '(' {
			return 0, 0, false
		}
		end := i + 1
		for i = skipBack(src, i); i >= 0 && isIdent(src[i]); i-- {
		}
		if string(src[i+1:end-1]) != initFn && strings.TrimSpace(string(src[i+1:end-1])) != initFn {
			return 0, 0, false
		}
		start := i + 1
		// the statement must start its line and end with ");"
		ls := start
		for ls > 0 && (src[ls-1] == ' ' || src[ls-1] == '\t') {
			ls--
		}
		if ls > 0 && src[ls-1] != '\n' {
			return 0, 0, false
		}
		e := a.Member.End
		for e < len(src) && (src[e] == ' ' || src[e] == '\t') {
			e++
		}
		if !strings.HasPrefix(string(src[e:]), ");") {
			return 0, 0, false
		}
		e += 2
		for e < len(src) && (src[e] == ' ' || src[e] == '\t') {
			e++
		}
		if e < len(src) && src[e] == '\n' {
			e++
		} else if e < len(src) {
			return 0, 0, false
		}
		return ls, e, true
	}
}

// initCheck refuses a use that initialises the lock (or sets its lockdep
// class) in a form dropInit cannot drop: a table slot is shared and
// statically initialised, so it must never be initialised again.
func initCheck(p *rewrite.Pass, pl *plan) func(string, *cexpr.Access) string {
	drop := dropInit(pl)
	return func(file string, a *cexpr.Access) string {
		src := p.File(file)
		if _, _, ok := drop(file, src, a); ok {
			return ""
		}
		f := p.Parse(file)
		toks := sites.CodeTokens(f)
		i := sites.TokenAt(toks, a.Object.Off)
		for k := i - 1; k >= 0 && k > i-4; k-- {
			if toks[k].Kind == ast.Ident && (toks[k].Text == tableLocks[pl.typ].initFn || strings.HasPrefix(toks[k].Text, "lockdep_set_")) {
				return fmt.Sprintf("%s:%d: %s() on the lock, in a form kprewrite cannot drop; its lock would live in a shared, statically initialised table", file, a.Line, toks[k].Text)
			}
		}
		return ""
	}
}

func skipBack(src []byte, i int) int {
	i--
	for i >= 0 && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n') {
		i--
	}
	return i
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// nesting returns where the patched code may hold two locks of member m at
// once (two objects may hash to the same slot: that would deadlock), or
// "". It reads each function of the patched .c files: an acquire of the
// member while one is held, a _nested acquire, or a call, while one is
// held, of a function of the same file that acquires it. Calls into other
// files are not followed (the report states the assumption).
func nesting(p *rewrite.Pass, name string) string {
	for _, file := range p.CurrentSources() {
		f := p.Parse(file)
		if f == nil {
			continue
		}
		takes := map[string]bool{}
		for _, fn := range f.Funcs {
			toks := f.CodeTokens(fn.Body)
			for i := range toks {
				if acquireRE.MatchString(toks[i].Text) && lockArg(toks, i, name) {
					takes[fn.Name] = true
				}
			}
		}
		for _, fn := range f.Funcs {
			toks := f.CodeTokens(fn.Body)
			held := 0
			for i, t := range toks {
				if t.Kind != ast.Ident || i+1 >= len(toks) || toks[i+1].Text != "(" {
					continue
				}
				switch {
				case nestedRE.MatchString(t.Text) && lockArg(toks, i, name):
					return fmt.Sprintf("%s:%d: %s() takes a second %s lock inside %s", file, f.Line(t.Off), t.Text, name, fn.Name)
				case acquireRE.MatchString(t.Text) && lockArg(toks, i, name):
					if held > 0 {
						return fmt.Sprintf("%s:%d: %s takes a second %s lock while it holds one", file, f.Line(t.Off), fn.Name, name)
					}
					held++
				case releaseRE.MatchString(t.Text) && lockArg(toks, i, name):
					if held > 0 {
						held--
					}
				case held > 0 && takes[t.Text] && t.Text != fn.Name && (i == 0 || toks[i-1].Text != "."):
					return fmt.Sprintf("%s:%d: %s calls %s(), which takes a %s lock, while it holds one", file, f.Line(t.Off), fn.Name, t.Text, name)
				}
			}
		}
	}
	return ""
}

// lockArg reports whether the first argument of the call at toks[i] names
// member name ("&c->stats_lock").
func lockArg(toks []ast.Token, i int, name string) bool {
	depth := 0
	for k := i + 1; k < len(toks); k++ {
		switch toks[k].Text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return false
			}
		case ",":
			if depth == 1 {
				return false
			}
		case "->", ".":
			if depth == 1 && k+1 < len(toks) && toks[k+1].Text == name && k+2 < len(toks) && (toks[k+2].Text == ")" || toks[k+2].Text == ",") {
				return true
			}
		}
	}
	return false
}
