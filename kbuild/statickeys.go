package kbuild

import (
	"path"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// StaticKeyDefiners finds the .c files of the tree (as DirectiveMentions
// reads it) that define one of the static keys or static calls names
// (ast.StaticKeyDefinitions), sorted per name. Where a jump label's key
// lives, vmlinux or which module, decides whether a livepatch may keep it.
func (e *Env) StaticKeyDefiners(names []string) (map[string][]string, error) {
	if len(names) == 0 {
		return map[string][]string{}, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	return e.scanSources(func(rel string) bool { return strings.HasSuffix(rel, ".c") }, ast.NamesRE(names), func(rel string, data []byte) (found [][2]string) {
		for k := range ast.StaticKeyDefinitions(data) {
			if want[k] {
				found = append(found, [2]string{k, rel})
			}
		}
		return found
	})
}

// ModuleKeyDefiner returns the source of file's module, in file's
// directory, that defines the static key or static call name
// (ast.StaticKeyDefinitions), or "" when none does. The module's sources
// are read once per run.
func (e *Env) ModuleKeyDefiner(file, name string) string {
	mod := path.Dir(file) + " " + e.ObjectOf(file).Name()
	e.mu.Lock()
	defs, ok := e.keyDefs[mod]
	e.mu.Unlock()
	if !ok {
		defs = map[string]string{}
		for _, f := range e.ModuleSources(file) {
			src, err := e.Tree.ReadFile(f)
			if err != nil {
				continue
			}
			for k := range ast.StaticKeyDefinitions(src) {
				if _, seen := defs[k]; !seen {
					defs[k] = f
				}
			}
		}
		e.mu.Lock()
		if e.keyDefs == nil {
			e.keyDefs = map[string]map[string]string{}
		}
		e.keyDefs[mod] = defs
		e.mu.Unlock()
	}
	return defs[name]
}

// KeyObjects says where the sources that define a key (StaticKeyDefiners)
// build into: whether vmlinux does, and the modules that do, as "NAME
// (FILE)". A jump label or static call on vmlinux's key is one both
// livepatch builders accept; on a module's they refuse it.
func (e *Env) KeyObjects(definers []string) (vmlinux bool, modules []string) {
	for _, f := range definers {
		switch o := e.ObjectOf(f); o.Kind {
		case Vmlinux:
			vmlinux = true
		case Module:
			if m := o.Name() + " (" + f + ")"; !slices.Contains(modules, m) {
				modules = append(modules, m)
			}
		}
	}
	return vmlinux, modules
}
