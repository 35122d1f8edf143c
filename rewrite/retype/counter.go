package retype

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// counterTypes are the kernel's wrappers of one integer (atomic_t,
// refcount_t, struct kref, atomic64_t, atomic_long_t: a struct whose one
// member is an int or a s64, or such a struct), by their size on x86-64.
// Each has its integer's size and alignment, and holds its value in the
// same bits.
var counterTypes = map[string]int{"atomic_t": 4, "refcount_t": 4, "struct kref": 4, "atomic64_t": 8, "atomic_long_t": 8}

// counterRetype reports whether a member changes between an integer type
// and one of the kernel's wrappers of an integer of the same size (int to
// atomic_t, atomic_t to unsigned int, long to atomic_long_t, atomic_t to
// refcount_t), and the two types.
func counterRetype(a, b *ast.Member) (string, string, bool) {
	from, to, ok := scalarTypes(a, b)
	if !ok {
		return "", "", false
	}
	size := func(t string) int {
		if n, ok := counterTypes[t]; ok {
			return n
		}
		return intTypes[t].size
	}
	if size(from) == 0 || size(from) != size(to) || counterTypes[from] == 0 && counterTypes[to] == 0 || from == to {
		return "", "", false
	}
	return from, to, true
}

// retypeCounter keeps the old declaration of a member that becomes a
// wrapper of its integer (int to atomic_t, as a data race fix makes it),
// or an integer again, and makes every use of it, in every file the
// config builds that uses it (found by the compiler), a use of the same
// storage as the new type: obj->m becomes (*(atomic_t *)&obj->m), and
// &obj->m becomes (atomic_t *)&obj->m. The two types have the same size,
// alignment and bits (the kernel builds with -fno-strict-aliasing, so the
// cast is a plain view of the storage), so the patched code does what
// upstream's does, on objects that exist when the livepatch loads too:
// they hold the value in the same bits. Initializers are left as written
// (ATOMIC_INIT(1) initializes an int as well, 1 an atomic_t by brace
// elision); every file the rewrite touches is compiled with the old
// declaration, and one gcc rejects refuses the member with its error.
func retypeCounter(p *rewrite.Pass, k *kept, e *rewrite.Entry, from, to string) {
	step := fmt.Sprintf("keep %s in the header and use the member through a cast of its address to %s * at every use", from, to)
	v, u, changed, ok := keptViews(p, k, e, from, to, step)
	if !ok {
		return
	}
	p.Resolve(e, fmt.Sprintf("the old declaration (%s) stays: %s has the same size, alignment and bits, so objects that exist when the livepatch loads hold their value as the new type reads it; the %d uses, found by the compiler over the %d files the config builds that use it (%s), use the same storage as %s through a cast of its address, and every file that uses it compiles so: %s",
		from, to, v.count, u.compiled, u.method, to, strings.Join(changed, ", ")))
}

// keptViews keeps e's old declaration and makes every use of the member
// a use of its storage as type to (viewUses), proposing the edits; it
// returns them, the uses and the files they change, or refuses e with
// step and reports false.
func keptViews(p *rewrite.Pass, k *kept, e *rewrite.Entry, from, to, step string) (views, *memberUses, []string, bool) {
	cur, reverted, u, ok := keptUses(p, e, step)
	if !ok {
		return views{}, nil, nil, false
	}
	v, ok := viewUses(p, e, reverted, u, from, to, step)
	if !ok || !k.keep(p, e, cur, reverted) {
		return views{}, nil, nil, false
	}
	return v, u, v.propose(p, e, to), true
}

// views are the edits that make every use of a member a use of its
// storage as another type.
type views struct {
	edits map[string][]edit.Edit
	files []string // every file that uses the member, sorted
	count int      // the uses rewritten
}

// viewUses rewrites every use of the member the compiler found (u) as a
// use of the same storage as type to: obj->m becomes (*(to *)&obj->m),
// &obj->m becomes (to *)&obj->m; initializers stay as written. Every file
// that uses it is compiled with the old declaration (reverted) and the
// edits; a use in a header, a use it cannot read, or a file gcc rejects
// refuses e with step, and ok is false.
func viewUses(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, u *memberUses, from, to, step string) (v views, ok bool) {
	v.edits = map[string][]edit.Edit{}
	toks := map[string][]ast.Token{} // each file's code tokens, read once
	for _, use := range u.uses {
		if change.IsHeader(use.File) {
			p.RefuseManual(e, fmt.Sprintf("it is used in a header (%s:%d), where a cast would change every includer", use.File, use.Line), "move that header code into the .c files first (or "+step+")")
			return v, false
		}
		if !slices.Contains(v.files, use.File) {
			v.files = append(v.files, use.File)
		}
		f := p.Parse(use.File)
		if toks[use.File] == nil {
			toks[use.File] = sites.CodeTokens(f)
		}
		if designatorAt(f, toks[use.File], use.Line, use.Col) {
			continue // an initializer: the compile below judges it
		}
		a, err := findAccess(f, use.Line, use.Col)
		if err != nil {
			p.RefuseManual(e, err.Error(), step)
			return v, false
		}
		if a.InMacro {
			// the body serves every expansion, and another may name
			// another struct's member of the same name
			p.RefuseManual(e, fmt.Sprintf("%s:%d uses it in a macro's body, whose other expansions may name another struct's member", use.File, use.Line), step+" (in the macro's invocations for this struct, not in its body)")
			return v, false
		}
		v.count++
		if a.Kind == cexpr.AddrOf && a.Chained == "" {
			if amp, ok := ampersandBefore(f.Src, a.Object.Off); ok {
				v.edits[use.File] = append(v.edits[use.File], edit.Insert(use.File, amp, "("+to+" *)"))
				continue
			}
		}
		v.edits[use.File] = append(v.edits[use.File],
			edit.Insert(use.File, a.Object.Off, "(*("+to+" *)&"), edit.Insert(use.File, a.Member.End, ")"))
	}
	sort.Strings(v.files)
	if len(v.files) == 0 {
		return v, true
	}
	ds, why := diagnostics(p, e, reverted, v.edits, v.files)
	if why != "" {
		p.RefuseManual(e, "checking the rewritten uses: "+why, step)
		return v, false
	}
	for _, d := range ds {
		if d.Severity == "error" {
			p.RefuseManual(e, fmt.Sprintf("with %s kept, gcc rejects a use as %s: %s", from, to, d), step+"; change that use by hand")
			return v, false
		}
	}
	return v, true
}

// propose proposes the edits and returns the files they change.
func (v views) propose(p *rewrite.Pass, e *rewrite.Entry, to string) []string {
	var changed []string
	for _, f := range v.files {
		for _, ed := range v.edits[f] {
			ed.Why, ed.Hazard = "used as "+to, e.Hazard
			p.Edit(ed)
		}
		if len(v.edits[f]) > 0 {
			changed = append(changed, f)
		}
	}
	return changed
}

// designatorAt reports whether the member the compiler points at (1-based
// line and byte column, at the '.' or the name) of f, whose code tokens
// are toks, is an initializer's designator (".m = v" after '{' or ',').
func designatorAt(f *ast.File, toks []ast.Token, line, col int) bool {
	off := f.Lines.Start(line) + col - 1
	i := sites.TokenAt(toks, off)
	if i >= len(toks) || toks[i].Off != off {
		return false
	}
	if toks[i].Kind == ast.Ident && i > 0 && toks[i-1].Text == "." {
		i--
	}
	return toks[i].Text == "." && i > 0 && (toks[i-1].Text == "{" || toks[i-1].Text == ",")
}

// ampersandBefore returns the offset of the '&' right before off (spaces
// between), if there is one.
func ampersandBefore(src []byte, off int) (int, bool) {
	i := off - 1
	for i >= 0 && (src[i] == ' ' || src[i] == '\t') {
		i--
	}
	if i >= 0 && src[i] == '&' && (i == 0 || src[i-1] != '&') {
		return i, true
	}
	return 0, false
}
