package rewrite

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kprewrite/kprewrite/ast"
)

// Untraceable lists the functions of radius (file -> functions whose code
// a rewrite changes) that ftrace cannot redirect, as "NAME (FILE...)": a
// livepatch cannot replace them, and a change that lands in them never
// reaches the running kernel (verify's ftrace check would fail the
// result). Those are the functions marked noinstr or notrace, and inline
// functions whose address is stored (the kernel's inline is notrace: the
// copy an ops table points to, .set_next_task = set_next_task_rt, has no
// ftrace entry, and its callers call through the pointer). Other inline
// functions are left out: their callers carry the change.
func (p *Pass) Untraceable(radius map[string][]string) []string {
	var out []string
	for _, u := range slices.Sorted(maps.Keys(radius)) {
		f := p.Parse(u)
		if f == nil {
			continue
		}
		for _, name := range radius[u] {
			fn := f.Func(name)
			switch {
			case fn == nil:
			case !fn.IsInline() && (fn.Has("noinstr") || fn.Has("notrace")):
				out = append(out, fmt.Sprintf("%s (%s)", name, u))
			case fn.IsInline() && addressTaken(f, name):
				out = append(out, fmt.Sprintf("%s (%s, an inline function whose address is stored)", name, u))
			}
		}
	}
	return out
}

// addressTaken reports whether f names function name other than in a call
// (its definition and declarations are followed by "(" too).
func addressTaken(f *ast.File, name string) bool {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i, t := range toks {
		if t.Kind == ast.Ident && t.Text == name && (i+1 >= len(toks) || toks[i+1].Text != "(") {
			return true
		}
	}
	return false
}
