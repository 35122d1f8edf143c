package statickey

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
)

// maxRounds bounds the compiles that look for carried functions: a round
// rewrites the sites of the functions the last one found; one that
// rewrites a static function's changes its callers (gcc inlines it), and
// the next round looks at those. Each round compiles the files again (a
// large file, KVM's x86.c, takes a minute).
const maxRounds = 2

// hasSiteMacro reports whether text names a site-making macro (keyArg):
// a file that does (or names a header inline that does) is worth
// compiling for its carried functions.
func hasSiteMacro(text string) bool {
	for m := range keyArg {
		if strings.Contains(text, m) {
			return true
		}
	}
	return false
}

// carriedSites finds the functions the livepatch carries that the
// upstream patch does not change in its text, and rewrites their sites
// on a module's keys as the entries' sites are. A function is carried when
// its compiled code changes: gcc inlines a changed static function into
// its callers, and the other transforms' edits (a retyped member's uses,
// a view of a widened member) change functions the patch never named.
// Both builders refuse a jump label or static call on a module's key in
// any of them, as in a replaced function. The compiler says which: every
// module source of the patch that mentions a site macro (or calls a
// header inline that does) is compiled as the running kernel has it and
// as the rewrite leaves it ("#line" directives keep the running kernel's
// line numbers, as klp-build's fix-patch-lines does, so a moved WARN_ON
// changes nothing), and the functions whose code differs, with the
// static functions of the file they call, are searched for sites; a
// round that rewrites a static function's is compiled again, up to
// maxRounds. It returns
// the carried functions per file, for headerInlines.
func carriedSites(p *rewrite.Pass, homes *keyHomes, fresh map[string]bool, callMacro string, includes map[string]*hazard.Hazard, edited map[string]bool) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	if !p.HasCompiler() {
		return out, nil
	}
	var files []string
	for _, f := range p.CurrentSources() {
		if p.Env.ObjectOf(f).Kind == kbuild.Module && p.Base.Exists(f) && mentionsSites(p, f) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return out, nil
	}
	files, err := p.Compilable(files)
	if err != nil || len(files) == 0 {
		return out, err
	}
	dir, err := p.WorkDir()
	if err != nil {
		return nil, err
	}
	comp := &build.Compiler{Env: p.Env, Dir: dir}
	ctx := progress.Named(p.Context(), "statickey: carried functions")
	base := &build.Variant{Name: "skb", Files: map[string][]byte{}}
	texts := map[string][]byte{} // the files as this transform leaves them
	for _, f := range p.Touched() {
		texts[f] = p.File(f)
	}
	pending := map[string][]edit.Edit{} // this pass's edits, per file
	noted := map[string][]string{}      // the carried functions whose sites were rewritten
	held := map[string][]string{}       // the functions that hold those sites
	for round := 0; round < maxRounds; round++ {
		cur := &build.Variant{Name: fmt.Sprintf("skc%d", round), Files: map[string][]byte{}}
		for f, text := range texts {
			cur.Files[f] = text
			if text != nil && p.Base.Exists(f) {
				cur.Files[f] = patch.PreserveLines(p.Original(f), text)
			}
		}
		ds, err := comp.CompareCode(ctx, base, cur, files, build.Options{Extra: []string{"-ffunction-sections", "-fdata-sections"}})
		if err != nil {
			return nil, p.Failed(err)
		}
		again := false // a static function's site rewritten: its callers change
		for _, d := range ds {
			if d.A.Failed || d.B.Failed {
				continue // verify's compile check tells; nothing to read here
			}
			f := d.Source
			tf := p.Parse(f) // the sites' offsets are the current text's, which the edits change
			if out[f] == nil {
				out[f] = map[string]bool{}
			}
			// the functions to read, and one scan of the tree for the
			// keys of all their sites (a scan per key takes minutes in
			// KVM's x86.c, whose static calls are many)
			type holder struct {
				carried string
				fn      *ast.Func
			}
			var holders []holder
			var keys []string
			for _, sym := range d.Changed {
				name, _, _ := strings.Cut(sym, ".")
				if out[f][name] || len(tf.Definitions(name)) != 1 {
					continue
				}
				out[f][name] = true
				for _, fn := range append([]*ast.Func{tf.Definitions(name)[0]}, hazard.StaticCalleesIn(tf, tf.Definitions(name)[0], nil)...) {
					holders = append(holders, holder{name, fn})
					for macro := range keyArg {
						for _, st := range findSites(tf, fn, macro) {
							keys = append(keys, keyName(st))
						}
					}
				}
			}
			if err := homes.prefetch(keys); err != nil {
				return nil, err
			}
			for _, hd := range holders {
				eds, err := plainSites(p, homes, fresh, callMacro, f, tf, hd.fn, edited)
				if err != nil {
					return nil, err
				}
				if len(eds) == 0 {
					continue
				}
				again = again || hd.fn.Has("static")
				pending[f] = append(pending[f], eds...)
				for _, ed := range eds {
					if _, ok := includes[f]; !ok && callMacro != "" && strings.HasPrefix(ed.Text, callMacro+"(") {
						includes[f] = nil
					}
				}
				if !slices.Contains(noted[f], hd.carried) {
					noted[f] = append(noted[f], hd.carried)
				}
				if !slices.Contains(held[f], hd.fn.Name) {
					held[f] = append(held[f], hd.fn.Name)
				}
			}
		}
		if !again || round+1 == maxRounds {
			break
		}
		// the next round compiles the files with this round's edits
		for f, eds := range pending {
			text, err := edit.Apply(p.File(f), eds)
			if err != nil {
				return nil, kperr.Internalf(err, "statickey: the carried functions' edits of %s overlap", f)
			}
			texts[f] = text
		}
	}
	for _, f := range slices.Sorted(maps.Keys(pending)) {
		for _, ed := range pending[f] {
			p.Edit(ed)
		}
		p.Note(rewrite.Finding{File: f, Line: 1, Subject: "carried functions", Reason: carriedWhy(noted[f], held[f])})
	}
	return out, nil
}

// carriedWhy says why the sites of held, functions the livepatch carries
// (carried) or static functions gcc may inline into them, become plain
// reads.
func carriedWhy(carried, held []string) string {
	return fmt.Sprintf("the livepatch carries %s though the patch does not change their text: their compiled code changes (a function the patch or the rewrite changes is inlined into them, or the rewrite edits them); the jump labels and static calls on a module's keys in %s (the functions they are or inline) become plain reads, as in a replaced function (both builders refuse them)",
		listed(carried), listed(held))
}

// listed names up to eight functions and counts the rest.
func listed(names []string) string {
	out := make([]string, 0, min(len(names), 8)+1)
	for i, n := range names {
		if i == 8 {
			out = append(out, fmt.Sprintf("%d more", len(names)-8))
			break
		}
		out = append(out, n+"()")
	}
	return strings.Join(out, ", ")
}

// mentionsSites reports whether file f names a site macro, or a static
// inline function of a header it includes that holds one, or calls one
// that does (maxInlineDepth levels down).
func mentionsSites(p *rewrite.Pass, f string) bool {
	if hasSiteMacro(string(p.File(f))) {
		return true
	}
	inlines := headerInlineDefs(p, f, func(*ast.File) bool { return true })
	memo := map[string]bool{}
	var holds func(name string, depth int) bool
	holds = func(name string, depth int) bool {
		if v, ok := memo[name]; ok {
			return v
		}
		memo[name] = false // no cycle
		h := inlines[name]
		defs := h.Definitions(name)
		if len(defs) == 0 {
			return false
		}
		if hasSiteMacro(string(h.Src[defs[0].Body.Off:defs[0].Body.End])) {
			memo[name] = true
			return true
		}
		if depth >= maxInlineDepth {
			return false
		}
		for _, t := range h.CodeTokens(defs[0].Body) {
			if t.Kind == ast.Ident && t.Text != name && inlines[t.Text] != nil && holds(t.Text, depth+1) {
				memo[name] = true
				return true
			}
		}
		return false
	}
	for _, t := range ast.Tokenize(p.File(f)) {
		if t.Kind == ast.Ident && inlines[t.Text] != nil && holds(t.Text, 1) {
			return true
		}
	}
	return false
}

// plainSites returns the edits that make fn's sites on keys that do not
// live in vmlinux plain reads (moduleSites), but for sites already edited.
func plainSites(p *rewrite.Pass, homes *keyHomes, fresh map[string]bool, callMacro, file string, f *ast.File, fn *ast.Func, edited map[string]bool) ([]edit.Edit, error) {
	sites, err := moduleSites(homes, file, fresh, f, fn)
	if err != nil {
		return nil, err
	}
	var out []edit.Edit
	for _, s := range sites {
		at := fmt.Sprintf("%s:%d", file, s.call.Off)
		if edited[at] {
			continue
		}
		edited[at] = true
		out = append(out, edit.Edit{File: file, Off: s.call.Off, End: s.call.End, Text: replacement(s, callMacro), Why: "statickey: plain read of a module's key in a carried function"})
	}
	return out, nil
}

// moduleSites returns the sites of fn (of f, compiled as part of file)
// that both builders refuse: on a key that does not live in vmlinux and
// that the patch does not add (fresh), in the order of keyArg's macros.
// static_call_cond() is left out: it may call NULL, and stays the
// engineer's (verify names it).
func moduleSites(homes *keyHomes, file string, fresh map[string]bool, f *ast.File, fn *ast.Func) ([]site, error) {
	var out []site
	for _, macro := range slices.Sorted(maps.Keys(keyArg)) {
		if macro == "static_call_cond" {
			continue
		}
		for _, s := range findSites(f, fn, macro) {
			name := keyName(s)
			if name != "" && fresh[name] {
				continue // the patch adds it: it lives in the livepatch module
			}
			h, err := homes.of(file, name)
			if err != nil {
				return nil, err
			}
			if !h.vmlinux {
				out = append(out, s)
			}
		}
	}
	return out, nil
}
