package sites

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/rewrite"
)

// ContainerWrites reports whether every object that embeds the struct of
// an Embedded site gets the members written on its creation path before
// anything else can read them: the embedding struct (and the one that
// embeds it, up to three levels) is created only on the heap, by
// functions that assign each member, in the upstream text, with an
// unconditional statement of their body ("w->hid.m = -1;"). Objects of
// static storage never go away and count as written. The second result
// says where, or why not.
//
// It answers the question a shadow variable of an embedded struct raises
// when the frees of its container are not known: a new container at a
// freed one's address finds the shadow left behind, and it is harmless
// only when the creation path overwrites it before any use.
func ContainerWrites(p *rewrite.Pass, st *Site, members []string) (bool, string) {
	return containerWrites(p, st, members, 3)
}

func containerWrites(p *rewrite.Pass, st *Site, members []string, depth int) (bool, string) {
	if depth == 0 {
		return false, "embedded more than three levels deep"
	}
	f := p.Parse(st.File)
	var outer *ast.Struct
	for _, s := range f.Structs {
		if s.Name != "" && s.Body.Off <= st.Off && st.Off < s.Body.End && (outer == nil || s.Body.Off > outer.Body.Off) {
			outer = s
		}
	}
	if outer == nil || outer.Kind != "struct" {
		return false, fmt.Sprintf("%s:%d: kprewrite cannot tell which struct embeds it", st.File, st.Line)
	}
	res, err := Find(p, st.File, outer.Name)
	if err != nil {
		return false, fmt.Sprintf("the creation sites of struct %s (which embeds it) are not known: %v", outer.Name, err)
	}
	var where []string
	for _, cs := range res.Sites {
		switch {
		case cs.Kind == Zeroing || cs.Kind == Size || cs.Kind == Copy && cs.Unfit == "":
			continue
		case cs.Kind == Global || cs.Kind == Array && cs.Fn == "":
			continue // static storage: never freed
		case cs.Kind == Embedded:
			ok, why := containerWrites(p, cs, members, depth-1)
			if !ok {
				return false, why
			}
			where = append(where, why)
		case (cs.Kind == Heap || cs.Kind == Private) && cs.Fn != "":
			for _, m := range members {
				if !writesAtTop(p, cs.File, cs.Fn, m) {
					return false, fmt.Sprintf("%s in %s creates struct %s (which embeds it) and does not assign %s unconditionally", cs, cs.Fn, outer.Name, m)
				}
			}
			where = append(where, fmt.Sprintf("struct %s in %s (%s)", outer.Name, cs.Fn, cs.File))
		default:
			return false, fmt.Sprintf("struct %s (which embeds it) is also made at %s", outer.Name, cs)
		}
	}
	if len(where) == 0 {
		return false, fmt.Sprintf("the compiler found no place that creates struct %s (which embeds it)", outer.Name)
	}
	return true, strings.Join(where, ", ")
}

// writesAtTop reports whether function fn of file, in its upstream text,
// has a statement at the top level of its body that assigns member
// ("x->m = v;" or "x.y.m = v;").
func writesAtTop(p *rewrite.Pass, file, fn, member string) bool {
	src, ok := p.Upstream[file]
	if !ok {
		src = p.Original(file)
	}
	f := ast.Parse(file, src)
	d := f.Func(fn)
	if d == nil {
		return false
	}
	toks := f.CodeTokens(d.Body)
	depth := 0
	start := true
	for i, t := range toks {
		switch t.Text {
		case "{":
			depth++
			start = true
			continue
		case "}":
			depth--
			start = true
			continue
		case ";":
			start = true
			continue
		}
		if !start {
			continue
		}
		start = false
		if depth != 1 {
			continue
		}
		// an assignment statement whose left side is a plain access
		// chain ending in the member: "w->hid.m = v;", not "if (c) x->m = v;"
		for k := i; k+1 < len(toks); k++ {
			tk := toks[k]
			if tk.Text == member && k > i && (toks[k-1].Text == "->" || toks[k-1].Text == ".") && toks[k+1].Text == "=" {
				return true
			}
			if tk.Kind != ast.Ident && tk.Kind != ast.Number && tk.Text != "->" && tk.Text != "." && tk.Text != "[" && tk.Text != "]" {
				break
			}
		}
	}
	return false
}
