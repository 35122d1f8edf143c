package retype

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/rewrite"
)

// scalarTypes returns the two members' types, spaces normalised, when
// both are plain: no array, no bitfield, no nested struct or union.
func scalarTypes(a, b *ast.Member) (from, to string, ok bool) {
	if strings.Join(a.Array, ",") != "" || strings.Join(b.Array, ",") != "" || a.Bits != "" || b.Bits != "" || a.Nested != nil || b.Nested != nil {
		return "", "", false
	}
	return strings.Join(strings.Fields(a.Type), " "), strings.Join(strings.Fields(b.Type), " "), true
}

// narrowing reports whether a member's integer type becomes a narrower
// one (atomic_t wait_periods -> u8 wait_periods, int -> u16), and the two
// types. Every value of the new type survives a round trip through the
// old one ((u8)(int)v == v), so the old member can hold the new one's
// values.
func narrowing(a, b *ast.Member) (string, string, bool) {
	from, to, ok := scalarTypes(a, b)
	if !ok {
		return "", "", false
	}
	tb, okb := intTypes[to]
	if !okb {
		return "", "", false
	}
	size := 4
	if from != "atomic_t" {
		ta, ok := intTypes[from]
		if !ok {
			return "", "", false
		}
		size = ta.size
	}
	if tb.size >= size {
		return "", "", false
	}
	return from, to, true
}

// retypeNarrow keeps the old declaration of a member whose integer type
// becomes a narrower one, and converts at every use, in every file the
// config builds that uses it (found by the compiler): a read is the old
// member's value converted to the new type, a store stores the value
// converted to the new type, so the code computes what upstream's does
// with the narrow member, and the old member only ever holds values of
// the new type. Objects that exist when the livepatch loads hold a value
// of the old type, which the patched code reads converted, as C converts
// it.
func retypeNarrow(p *rewrite.Pass, k *kept, e *rewrite.Entry, from, to string) {
	step := fmt.Sprintf("keep %s in the header and convert at the use sites (read (%s) of it, store values converted to %s)", from, to, to)
	cur, reverted, u, ok := keptUses(p, e, step)
	if !ok {
		return
	}
	name := e.Change.Member
	atomic := from == "atomic_t"
	lvalue := func(a *cexpr.Access, obj string) string {
		if a.Arrow {
			return obj + "->" + name
		}
		return obj + "." + name
	}
	rw := func(src []byte) *cexpr.Rewriter {
		return &cexpr.Rewriter{
			Src: src,
			Get: func(a *cexpr.Access, obj string) string {
				if atomic {
					return "((" + to + ")atomic_read(&" + lvalue(a, obj) + "))"
				}
				return "((" + to + ")" + lvalue(a, obj) + ")"
			},
			Set: func(a *cexpr.Access, obj, val string) string {
				v := strings.TrimSpace(val)
				if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 127 {
					v = "(" + to + ")(" + v + ")" // a small literal fits every type
				}
				if atomic {
					return "atomic_set(&" + lvalue(a, obj) + ", " + v + ")"
				}
				return lvalue(a, obj) + " = " + v
			},
		}
	}
	byFile := map[string][]*cexpr.Access{}
	for _, use := range u.uses {
		if change.IsHeader(use.File) {
			p.RefuseManual(e, fmt.Sprintf("it is used in a header (%s:%d), where a conversion would change every includer", use.File, use.Line), "move that header code into the .c files first (or "+step+")")
			return
		}
		f := p.Parse(use.File)
		a, err := findAccess(f, use.Line, use.Col)
		if err != nil {
			p.RefuseManual(e, err.Error(), step)
			return
		}
		if a.InMacro {
			// a #define body, whose invocations may use the member as an
			// lvalue (a macro's argument is settled by the compile below:
			// READ_ONCE() of a conversion does not compile)
			p.RefuseManual(e, fmt.Sprintf("%s:%d: a macro's body uses it", use.File, use.Line), step)
			return
		}
		if a.Kind == cexpr.Designator {
			p.RefuseManual(e, fmt.Sprintf("%s:%d sets it in an initializer", use.File, use.Line), step)
			return
		}
		byFile[use.File] = append(byFile[use.File], a)
	}
	edits := map[string][]edit.Edit{}
	for f, accs := range byFile {
		es, errs := rw(p.File(f)).Rewrite(accs)
		if errs != nil {
			p.RefuseManual(e, fmt.Sprintf("%s: %v", f, errs[0]), step)
			return
		}
		edits[f] = es
	}
	files := slices.Sorted(func(yield func(string) bool) {
		for f := range edits {
			if !yield(f) {
				return
			}
		}
	})
	if why := compileEdited(p, e, reverted, edits, files); why != "" {
		p.RefuseManual(e, "with the conversions, "+why, step)
		return
	}
	if !k.keep(p, e, cur, reverted) {
		return
	}
	n := 0
	for _, f := range files {
		for _, ed := range edits[f] {
			ed.File, ed.Why, ed.Hazard = f, "converted to "+to, e.Hazard
			p.Edit(ed)
			n++
		}
	}
	sort.Strings(files)
	what := "reads " + to + "(old value)"
	if atomic {
		what = "reads (" + to + ")atomic_read()"
	}
	p.Resolve(e, fmt.Sprintf("the old declaration (%s) stays and holds the %s: each of the %d uses, found by the compiler over the %d files the config builds that use it (%s), converts: the code %s and stores values converted to %s, as upstream's narrower member would, so every function whose code the new type changes changes in the livepatch (%s)",
		from, to, n, u.compiled, u.method, what, to, strings.Join(files, ", ")))
	p.Note(rewrite.Finding{File: e.File, Line: e.Line, Subject: e.Change.PostStruct.Kind + " " + e.Change.Struct + "." + name,
		Reason: fmt.Sprintf("objects that exist when the livepatch loads hold a %s; the patched code reads it converted to %s, as C converts it: the same value when it fits in %s", from, to, to)})
}
