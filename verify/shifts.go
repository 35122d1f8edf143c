package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/objdiff"
)

// shiftOnly reports whether function f of one of srcs changes in the
// upstream build only because struct layouts change, when the layout-only
// build of its source file could not tell (it does not compile: the base
// code uses a member whose type upstream changes, atomic_set() on what
// becomes a u8). It asks the preprocessed units (gcc -E, macros and
// headers expanded) of the base and upstream trees: f, and every function
// of the unit it names, transitively, must be token for token the same in
// both; the unit's code outside functions must be the same too, but for
// struct and union bodies and for declarations upstream adds; every enum
// of the base unit must keep its constants; and none of those functions
// may name a member whose type upstream changes or that it adds. What
// then differs in f's code is what the struct bodies give it: offsets and
// sizes, the shifts the rewritten patch rightly does not make. It returns
// the source file, or why not ("" and "" when no source has f).
func shiftOnly(fs builtFuncs, srcs []string, f string, rewritten map[string]bool, memo map[string]*units) (string, string) {
	for _, src := range srcs {
		if _, ok := fs.original[src][f]; !ok {
			continue
		}
		if _, ok := fs.layout[src]; ok {
			return "", "" // the layout-only build answers for this file
		}
		if fs.preprocess == nil {
			return "", ""
		}
		u, ok := memo[src]
		if !ok {
			u = &units{}
			memo[src] = u
			base, err := fs.preprocess(vBase, src)
			var up []byte
			if err == nil {
				up, err = fs.preprocess(vOrig, src)
			}
			if err != nil {
				u.why = err.Error()
			} else {
				u.base, u.up = ast.Parse(src, base), ast.Parse(src, up)
				u.why = sameOutside(u.base, u.up)
			}
		}
		if u.why != "" {
			return "", fmt.Sprintf("%s: %s", src, u.why)
		}
		if why := sameClosure(u.base, u.up, objdiff.BaseName(f), fs.changedMembers, rewritten); why != "" {
			return "", fmt.Sprintf("%s: %s", src, why)
		}
		return src, ""
	}
	return "", ""
}

// units are the preprocessed base and upstream units of one source file.
type units struct {
	base, up *ast.File
	why      string // why the units differ outside functions, or ""
}

// sameOutside compares two units outside functions: the base unit's
// declarations (struct and union bodies skipped) must all be upstream's,
// in order, upstream may add others; every enum of the base unit must be
// upstream's, constant for constant.
func sameOutside(base, up *ast.File) string {
	bd, ud := declarations(outside(base, nil)), declarations(outside(up, nil))
	j := 0
	for _, d := range bd {
		for j < len(ud) && ud[j] != d {
			j++
		}
		if j == len(ud) {
			return fmt.Sprintf("upstream's unit changes %q outside functions", shorten(d))
		}
		j++
	}
	for _, be := range base.Enums {
		if !slices.ContainsFunc(up.Enums, func(ue *ast.Enum) bool { return sameEnum(be, ue) }) {
			what := "an enum"
			if be.Name != "" {
				what = "enum " + be.Name
			} else if len(be.Values) > 0 {
				what = "the enum of " + be.Values[0].Name
			}
			return fmt.Sprintf("upstream's unit changes %s", what)
		}
	}
	return ""
}

// sameEnum reports whether two enums have the same name and constants.
func sameEnum(a, b *ast.Enum) bool {
	if a.Name != b.Name || len(a.Values) != len(b.Values) {
		return false
	}
	for i := range a.Values {
		if a.Values[i].Name != b.Values[i].Name || strings.Join(strings.Fields(a.Values[i].Value), " ") != strings.Join(strings.Fields(b.Values[i].Value), " ") {
			return false
		}
	}
	return true
}

// declarations splits the tokens of a unit outside functions into
// declarations, at each ';' outside brackets.
func declarations(toks []string) []string {
	var out []string
	var cur []string
	depth := 0
	for _, t := range toks {
		cur = append(cur, t)
		switch t {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ";":
			if depth == 0 {
				out = append(out, strings.Join(cur, " "))
				cur = nil
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, " "))
	}
	return out
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// sameClosure checks that function name and every function of the unit
// it names, transitively, are token for token the same in both units, and
// name no member of changed. A function the rewritten patch changes
// is not followed, changed upstream or not: name compiles to the running kernel's code in the
// rewritten build, next to that function's rewritten code (gcc saw both),
// so how upstream changes it says nothing about name.
func sameClosure(base, up *ast.File, name string, changed, rewritten map[string]bool) string {
	bdefs, udefs := defsByName(base), defsByName(up)
	seen := map[string]bool{name: true}
	work := []string{name}
	for len(work) > 0 {
		n := work[0]
		work = work[1:]
		bs, us := bdefs[n], udefs[n]
		if len(bs) == 0 || len(bs) != len(us) {
			return fmt.Sprintf("%s() is not defined alike in the base and upstream units", n)
		}
		for k := range bs {
			if n != name && rewritten[n] {
				break
			}
			a, b := base.CodeTokens(bs[k].Span), up.CodeTokens(us[k].Span)
			if !slices.EqualFunc(a, b, func(x, y ast.Token) bool { return norm(x.Text) == norm(y.Text) }) {
				return fmt.Sprintf("upstream changes %s()", n)
			}
			for i := range a {
				if i > 0 && (a[i-1].Text == "->" || a[i-1].Text == ".") && changed[a[i].Text] {
					return fmt.Sprintf("%s() uses %s, whose type upstream changes (or a member of that name it adds)", n, a[i].Text)
				}
				if a[i].Kind == ast.Ident && bdefs[a[i].Text] != nil && !seen[a[i].Text] {
					seen[a[i].Text] = true
					work = append(work, a[i].Text)
				}
			}
		}
	}
	return ""
}

// changedMembers names the members whose type the upstream changes give
// another (retyped, a bitfield's width) or that they add: a function
// naming one changes by more than a shift.
func changedMembers(chs []*change.File) map[string]bool {
	out := map[string]bool{}
	for _, fc := range chs {
		for _, ch := range fc.Changes {
			switch ch.Kind {
			case change.MemberRetyped, change.MemberBits, change.MemberAdded:
				// a nested member is named "outer.inner"
				out[ch.Member[strings.LastIndex(ch.Member, ".")+1:]] = true
			}
		}
	}
	return out
}
