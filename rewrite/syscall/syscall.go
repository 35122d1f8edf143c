// Package syscall is the transform for a changed system call. On x86_64,
// SYSCALL_DEFINEn(name, ...) puts the body into __do_sys_name, which is
// static inline and so notrace: it has no fentry hook and a builder cannot
// patch it, and the macro also emits syscall metadata and an
// error-injection entry, static data a livepatch cannot carry. Both
// builders ship a replacement macro that defines the same __x64_sys_name
// and __ia32_sys_name entry points around a renamed inner function (new to
// the builder, so it goes into the livepatch whole) and without that data:
// KLP_SYSCALL_DEFINEn in linux/livepatch_helpers.h (klp-build) and
// KPATCH_SYSCALL_DEFINEn in kpatch-syscall.h (kpatch-build).
//
// Before:	SYSCALL_DEFINE2(sethostname, char __user *, name, int, len)
// After:	KLP_SYSCALL_DEFINE2(sethostname, char __user *, name, int, len)
//
// It refuses SYSCALL_DEFINE0 and the COMPAT_ variants (the builders have
// no replacement for them), a klp rewrite of a kernel that is not x86_64
// or has no linux/livepatch_helpers.h (klp-build's macros exist only
// there), and a kpatch rewrite of an architecture kpatch-syscall.h does not
// cover (it has x86_64, s390, ppc64 and arm64). A system call defined
// several times under #if gets the macro on the definition the patch
// changes.
package syscall

import (
	"fmt"
	"regexp"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Transform is the syscall transform.
var Transform = &rewrite.Transform{
	Name:  "syscall",
	Doc:   "a changed SYSCALL_DEFINEn becomes the builder's KLP_SYSCALL_DEFINEn (or KPATCH_SYSCALL_DEFINEn), which defines the same entry points without the static data",
	Kinds: []hazard.Kind{hazard.Syscall},
	Run:   run,
}

var defineN = regexp.MustCompile(`^SYSCALL_DEFINE[1-6]$`)

// Include returns the header with the replacement macros in a dialect.
func Include(dialect string) string {
	if dialect == "kpatch" {
		return `#include "kpatch-syscall.h"`
	}
	return "#include <linux/livepatch_helpers.h>"
}

func run(p *rewrite.Pass) error {
	prefix := "KLP_"
	if p.Options.Dialect == "kpatch" {
		prefix = "KPATCH_"
	}
	inc := Include(p.Options.Dialect)
	files := map[string][]*hazard.Hazard{} // files with a replaced macro, and the hazards there
	for _, e := range p.Entries {
		if e.Kind != hazard.Syscall || e.ResolvedBy != "" || e.Change == nil || e.Change.PostFunc == nil {
			continue
		}
		if why := unsupported(p); why != "" {
			p.RefuseManual(e, why, "move the change into a helper function the system call calls, and patch that")
			continue
		}
		macro := e.Change.PostFunc.Macro
		if !defineN.MatchString(macro) {
			p.RefuseManual(e, fmt.Sprintf("the builders have no replacement for %s", macro),
				"move the change into a helper function the system call calls, and patch that")
			continue
		}
		f := p.Parse(e.File)
		fn, n := definitionAt(f, e.Change.PostFunc.Name, e.Line)
		if n > 1 && fn == nil {
			p.RefuseManual(e, fmt.Sprintf("%s is defined %d times in %s (under #if) and none is at line %d", e.Change.PostFunc.Name, n, e.File, e.Line), "use "+prefix+macro+" on the definition the config builds")
			continue
		}
		tok := macroToken(f, fn, macro)
		if tok == nil {
			p.RefuseManual(e, "the definition is not where the change model put it", "use "+prefix+macro)
			continue
		}
		p.Edit(edit.Edit{File: e.File, Off: tok.Off, End: tok.End, Text: prefix + macro, Why: "replacement macro for " + fn.Name, Hazard: e.Hazard})
		p.Resolve(e, fmt.Sprintf("%s becomes %s%s: the same entry points around a patchable inner function, without the syscall metadata", macro, prefix, macro))
		files[e.File] = append(files[e.File], e.Hazard)
	}
	for file, hs := range files {
		if e, ok := gen.Include(p.Parse(file), inc); ok {
			e.Why = "include for the replacement macro"
			if len(hs) == 1 {
				e.Hazard = hs[0]
			}
			p.Edit(e)
		}
	}
	return nil
}

// definitionAt returns the definition of name that holds line (a system
// call may be defined several times under #if, as clone is), and how many
// definitions the file has. With one definition it is that one.
func definitionAt(f *ast.File, name string, line int) (*ast.Func, int) {
	var all []*ast.Func
	for _, fn := range f.Funcs {
		if fn.Name == name {
			all = append(all, fn)
		}
	}
	if len(all) == 1 {
		return all[0], 1
	}
	for _, fn := range all {
		if f.Line(fn.Span.Off) <= line && line <= f.Line(fn.Span.End) {
			return fn, len(all)
		}
	}
	return nil, len(all)
}

// unsupported says why the dialect's replacement macros cannot serve this
// kernel: klp's exist only for x86_64, and only in a tree that has
// linux/livepatch_helpers.h (the kernel's klp-build); kpatch's cover
// x86_64, s390, ppc64 and arm64 (kpatch-syscall.h).
func unsupported(p *rewrite.Pass) string {
	cfg := p.Env.Config
	if p.Options.Dialect == "kpatch" {
		if cfg == nil {
			return ""
		}
		for _, arch := range []string{"X86_64", "S390", "PPC64", "ARM64"} {
			if cfg.Tristate(arch) == "y" {
				return ""
			}
		}
		return "kpatch-syscall.h has replacement macros only for x86_64, s390, ppc64 and arm64"
	}
	if cfg == nil || cfg.Tristate("X86_64") != "y" {
		return "klp-build's replacement macros (KLP_SYSCALL_DEFINEn) exist only for x86_64 (kpatch-build's cover s390, ppc64 and arm64 too: --dialect kpatch)"
	}
	if !p.Env.Tree.Exists("include/linux/livepatch_helpers.h") {
		return "the tree has no include/linux/livepatch_helpers.h, where klp-build's KLP_SYSCALL_DEFINEn lives (a kernel with klp-build, or --dialect kpatch)"
	}
	return ""
}

// macroToken finds the defining macro's name in the function's header.
func macroToken(f *ast.File, fn *ast.Func, macro string) *ast.Token {
	if fn == nil {
		return nil
	}
	for i := range f.Tokens {
		t := &f.Tokens[i]
		if t.Off >= fn.Header.Off && t.End <= fn.Header.End && t.Text == macro {
			return t
		}
	}
	return nil
}
