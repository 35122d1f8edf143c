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
// engineer: existing modules may link against it. So is the export of a
// new function that a caller looks up by name (symbol_get(), dvb_attach():
// the lookup would fail), that a caller in another module uses (upstream
// makes that module depend on the definer's), or that a header declared
// before the patch (a __weak default or a moved definition: unpatched
// code calls it).
package exports

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the exports transform.
var Transform = &rewrite.Transform{
	Name:  "exports",
	Doc:   "a new export of a function the same patch adds is dropped: its only callers are in the patch, and the livepatch module carries the function with them; a removed export stays, with its function when upstream removes that too: the running kernel keeps both",
	Kinds: []hazard.Kind{hazard.Export},
	Run:   run,
}

func run(p *rewrite.Pass) error {
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || e.Kind != hazard.Export || ch == nil || path.Ext(e.File) != ".c" {
			continue
		}
		if ch.Kind == change.CallRemoved {
			if err := keepRemoved(p, e); err != nil {
				return err
			}
			continue
		}
		if ch.Kind != change.CallAdded {
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
			why := sym + " is not a function this patch adds: modules built against the running kernel may need the export"
			if newVar(fc, sym) {
				why = sym + " is data this patch adds, not a function: the export is left to the engineer"
			}
			p.RefuseManual(e, why,
				"drop the export change; callers in other objects must reach "+sym+" another way (a klp relocation or kallsyms lookup)")
			continue
		}
		why, deps := notOnlyPatchCallers(p, e.File, sym)
		if why != "" {
			p.RefuseManual(e, why, "keep the export: patch the running kernel's users another way, or leave this change out of the livepatch")
			continue
		}
		span.Why = "new export dropped"
		span.Hazard = e.Hazard
		p.Edit(span)
		how := fmt.Sprintf("dropped: %s is new in this patch, so its only callers are functions of the patch, which the livepatch module carries with it; the module needs no export", sym)
		if len(deps) > 0 {
			verb := "depends"
			if len(deps) > 1 {
				verb = "depend"
			}
			how += fmt.Sprintf(" (%s already %s on %s through its other exports, so it is loaded whenever the patched callers run)", strings.Join(deps, ", "), verb, p.Env.ObjectOf(e.File).Name())
		}
		p.Resolve(e, how)
	}
	return nil
}

// lookupRE matches the ways code reaches an export by name at run time:
// symbol_get() and friends, dvb_attach(), kallsyms, a string. Without the
// export they find nothing and the caller takes its fallback path.
var lookupRE = regexp.MustCompile(`\b(symbol_get|symbol_request|symbol_put|__symbol_get|__symbol_put|dvb_attach|kallsyms_lookup_name)\s*\(\s*"?(\w+)`)

// notOnlyPatchCallers says why dropping the export of sym, defined in
// file, would change what the patch does: a caller looks it up by name
// (that lookup fails without the export), a caller is in another module
// (upstream makes that module depend on the definer's, which the
// livepatch's copy of sym cannot give: it reaches the definer's data only
// while that module is loaded), or a header the file includes declared
// sym before the patch (it exists elsewhere, a __weak default or a
// definition the patch moves, and unpatched code calls it).
func notOnlyPatchCallers(p *rewrite.Pass, file, sym string) (why string, deps []string) {
	definer := p.Env.ObjectOf(file)
	for _, f := range p.CurrentSources() {
		src := p.File(f)
		for _, m := range lookupRE.FindAllSubmatch(src, -1) {
			if string(m[2]) == sym {
				return fmt.Sprintf("%s looks %s up by name (%s): without the export the lookup fails", f, sym, m[1]), nil
			}
		}
		if bytes.Contains(src, []byte(`"`+sym+`"`)) {
			return fmt.Sprintf("%s names %s in a string (a lookup by name?): without the export it may find nothing", f, sym), nil
		}
		if f == file || !ast.NamesAny(p.Parse(f).Tokens, map[string]bool{sym: true}) {
			continue
		}
		o := p.Env.ObjectOf(f)
		if definer.Kind != kbuild.Module || o.Name() == definer.Name() {
			continue
		}
		if dependsOn(p, f, file) {
			if !slices.Contains(deps, o.Name()) {
				deps = append(deps, o.Name())
			}
			continue
		}
		return fmt.Sprintf("%s is defined in module %s and called from %s (%s), which uses no other export of %s: upstream makes %s depend on %s through the export; the livepatch's copy of %s reaches %s's data only while %s is loaded",
			sym, definer.Name(), o.Name(), f, definer.Name(), o.Name(), definer.Name(), sym, definer.Name(), definer.Name()), nil
	}
	for _, inc := range p.Parse(file).Includes {
		for _, h := range p.IncludePaths(file, inc) {
			base := p.Original(h)
			if base == nil {
				continue
			}
			if ast.NamesAny(ast.Tokenize(base), map[string]bool{sym: true}) {
				return fmt.Sprintf("%s declares %s before the patch: the function exists elsewhere (a __weak default, or a definition the patch moves), and code the patch does not change calls it", h, sym), nil
			}
		}
	}
	return "", deps
}

// dependsOn reports whether the module user of file uf already depends on
// the module def of file df in the running kernel: a source of user,
// before the patch, names a symbol a source of def exports. Then def is
// loaded and pinned whenever user's code runs, and the livepatch's copy of
// a new def function called from user's patched code finds def's data
// relocated. The sources of a module are looked for in its file's
// directory, where kbuild modules keep them.
func dependsOn(p *rewrite.Pass, uf, df string) bool {
	exported := map[string]bool{}
	for _, f := range p.Env.ModuleSources(df) {
		for _, c := range ast.Parse(f, p.Original(f)).Calls {
			if strings.HasPrefix(c.Name, "EXPORT_SYMBOL") && len(c.Args) > 0 {
				exported[c.Args[0]] = true
			}
		}
	}
	if len(exported) == 0 {
		return false
	}
	for _, f := range p.Env.ModuleSources(uf) {
		if ast.NamesAny(ast.Parse(f, p.Original(f)).Tokens, exported) {
			return true
		}
	}
	return false
}

// newVar reports whether the patch adds a global variable named sym to fc.
func newVar(fc *change.File, sym string) bool {
	if fc == nil {
		return false
	}
	for _, ch := range fc.Changes {
		if ch.Kind == change.VarAdded && ch.Name == sym {
			return true
		}
	}
	return false
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
