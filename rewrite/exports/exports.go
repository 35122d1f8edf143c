// Package exports is the transform for a new export of a new function:
// EXPORT_SYMBOL_GPL(f) next to a function f the same patch adds. A
// livepatch module cannot add exports to the object it patches, and needs
// none here: f is new, so its only callers are functions of the patch,
// and the livepatch module carries f together with them (a patched
// function in a module calls the module's own copy).
//
// Before (upstream):	+int device_link_wait_removal(void) { ... }
//
//	+EXPORT_SYMBOL_GPL(device_link_wait_removal);
//
// After (rewritten):	the function stays, the export line is gone.
//
// An export of an existing function, or a removed export, is left to the
// engineer: existing modules may link against it.
package exports

import (
	"fmt"
	"path"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the exports transform.
var Transform = &rewrite.Transform{
	Name:  "exports",
	Doc:   "a new export of a function the same patch adds is dropped: its only callers are in the patch, and the livepatch module carries the function with them",
	Kinds: []hazard.Kind{hazard.Export},
	Run:   run,
}

func run(p *rewrite.Pass) error {
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || e.Kind != hazard.Export || ch == nil || ch.Kind != change.CallAdded || path.Ext(e.File) != ".c" {
			continue
		}
		fc := p.ChangeOf(e.File)
		cur := p.Parse(e.File)
		var sym string
		var span edit.Edit
		found := false
		for _, c := range cur.Calls {
			if c.Name == ch.Name && len(c.Args) > 0 && c.Name+"("+joinArgs(c.Args)+")" == ch.Subject {
				sym = c.Args[0]
				span = edit.Edit{File: e.File, Off: ast.LineStart(cur.Src, c.Span.Off), End: ast.LineEnd(cur.Src, c.Span.End)}
				found = true
				break
			}
		}
		if !found {
			continue
		}
		if !newFunc(fc, sym) {
			p.RefuseManual(e, sym+" is not a function this patch adds: modules built against the running kernel may need the export",
				"drop the export change; callers in other objects must reach "+sym+" another way (a klp relocation or kallsyms lookup)")
			continue
		}
		span.Why = "new export dropped"
		span.Hazard = e.Hazard
		p.Edit(span)
		p.Resolve(e, fmt.Sprintf("dropped: %s is new in this patch, so its only callers are functions of the patch, which the livepatch module carries with it; the module needs no export", sym))
	}
	return nil
}

// newFunc reports whether the patch adds a function named sym to fc.
func newFunc(fc *change.File, sym string) bool {
	if fc == nil {
		return false
	}
	for _, ch := range fc.Changes {
		if ch.Kind == change.FuncAdded && ch.PostFunc != nil && ch.PostFunc.Name == sym {
			return true
		}
	}
	return false
}

func joinArgs(args []string) string { return strings.Join(args, ", ") }
