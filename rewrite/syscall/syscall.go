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
// no replacement for them) and kernels that are not x86_64 (the
// replacement macros exist only there).
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
		if cfg := p.Env.Config; cfg != nil && cfg.Tristate("X86_64") != "y" {
			p.RefuseManual(e, "the builders' replacement macros exist only for x86_64",
				"move the change into a helper function the system call calls, and patch that")
			continue
		}
		macro := e.Change.PostFunc.Macro
		if !defineN.MatchString(macro) {
			p.RefuseManual(e, fmt.Sprintf("the builders have no replacement for %s", macro),
				"move the change into a helper function the system call calls, and patch that")
			continue
		}
		f := p.Parse(e.File)
		fn := f.Func(e.Change.PostFunc.Name)
		tok := macroToken(f, fn, macro)
		if tok == nil {
			p.RefuseManual(e, "the definition is not where the change model put it", "use "+prefix+macro)
			continue
		}
		p.Edit(edit.Edit{File: e.File, Off: tok.Off, End: tok.End, Text: prefix + macro, Why: "replacement macro for " + fn.Name, Hazard: e.Hazard})
		p.Resolve(e, fmt.Sprintf("%s becomes %s%s: the same __x64_sys entry point around a patchable inner function, without syscall metadata and error-injection data", macro, prefix, macro))
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
