// Package samecode is the transform for a header change that changes no
// code the config builds: a macro respelled as an inline, macros moved to
// another header, a declaration reworded. The compiler proves it: every
// file the config builds that includes the header is compiled twice, with
// the upstream header and with the original one (the other files of the
// patch as rewritten so far), and each object's functions and data must be
// the same, byte for byte and relocation for relocation (package objdiff).
// The header then keeps its original text, lines included, so __LINE__
// does not move in any includer, and the report says so.
//
// Before (upstream):	-#define TPM_MEMREMAP(start, size) NULL
//
//	+static inline void *TPM_MEMREMAP(unsigned long start, size_t size)
//	+{
//	+	return NULL;
//	+}
//
// After (rewritten):	the header hunk is gone (the includers compile to
//
//	the same code either way).
//
// It runs after the transforms that rewrite header changes, on the headers
// with hazards they left to an engineer, and compares the header as they
// left it (their edits in the .c files included) with the original: what
// they changed in it is dropped too only when it changes no code. Each
// includer is preprocessed with both headers first; one whose two units
// are the same token for token compiles to the same code and is not
// compiled. A header that assembler sources include, or that more files
// include than it preprocesses, or whose change reaches more of them than
// it compiles (twice each) in reasonable time, is left as it is, with the
// reason among the hazard's tries.
package samecode

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the samecode transform.
var Transform = &rewrite.Transform{
	Name: "samecode",
	Doc: "a header change that changes no code the config builds is dropped: every file the config builds that includes the header " +
		"compiles to the same functions and data with the original header as with the upstream one",
	Kinds: []hazard.Kind{hazard.HeaderMacro, hazard.HeaderOther, hazard.HeaderEnum, hazard.HeaderDecl, hazard.HeaderInline, hazard.StructLayout},
	Run:   run,
}

// MaxUsers is how many of a header's includers whose preprocessed code
// the change reaches the transform compiles and compares: each compiles
// twice, 5-15 s a compile.
const MaxUsers = 40

// MaxPreprocessed is how many files the config builds may include a
// header the transform looks at: each is preprocessed twice (gcc -E, a
// fraction of a compile), and only those whose units differ are compiled.
const MaxPreprocessed = 300

func run(p *rewrite.Pass) error {
	if !p.HasCompiler() {
		return nil
	}
	byHeader := map[string][]*rewrite.Entry{}
	for _, e := range p.Entries {
		if change.IsHeader(e.File) {
			byHeader[e.File] = append(byHeader[e.File], e)
		}
	}
	for i, h := range slices.Sorted(maps.Keys(byHeader)) {
		open := openEntries(p, byHeader[h])
		if len(open) == 0 || !p.Base.Exists(h) || bytes.Equal(p.File(h), p.Original(h)) {
			continue // nothing left to an engineer, a new header, or one already back to its original
		}
		proof, why, err := compare(p, h, i)
		if err != nil {
			if kperr.IsEnvironment(err) {
				return err
			}
			why = err.Error()
		}
		if why != "" {
			for _, e := range open {
				p.Refuse(e, why)
			}
			continue
		}
		orig := p.Original(h)
		p.Edit(edit.Edit{File: h, Off: 0, End: len(p.File(h)), Text: string(orig), Why: "original header kept", Hazard: open[0].Hazard})
		for _, e := range open {
			p.Resolve(e, "the change to "+h+" changes no code the config builds: "+proof+", so the original header stays")
		}
		p.Note(rewrite.Finding{File: h, Line: 1, Subject: h,
			Reason: "the upstream change to this header is dropped: " + proof + "; no includer's code depends on it under this config"})
	}
	return nil
}

// openEntries returns the entries of one header that every transform so
// far left to an engineer, or nil when the header also has a hazard of a
// kind this transform does not take (the whole header is kept or not).
func openEntries(p *rewrite.Pass, es []*rewrite.Entry) []*rewrite.Entry {
	var open []*rewrite.Entry
	for _, e := range es {
		if e.ResolvedBy != "" || !e.NeedsHuman() {
			continue
		}
		if !slices.Contains(p.Transform.Kinds, e.Kind) {
			return nil
		}
		open = append(open, e)
	}
	return open
}

// compare compiles the includers of header h with the header as the
// transforms left it and with the original and compares their code. It returns what it proved,
// or why it could not.
func compare(p *rewrite.Pass, h string, n int) (proof, why string, err error) {
	env := p.Env
	if err := env.Prepare(); err != nil {
		return "", "", err
	}
	g, err := env.IncludeGraph()
	if err != nil {
		return "", "", err
	}
	var asm []string
	for _, f := range g.AsmIncluders(h) {
		if env.ObjectOf(f).Kind != kbuild.NotBuilt {
			asm = append(asm, f)
		}
	}
	if len(asm) > 0 {
		return "", fmt.Sprintf("assembler sources include %s (%s): their code is not compared", h, firstFew(asm)), nil
	}
	hu, err := env.HeaderUsers(h)
	if err != nil {
		return "", "", err
	}
	cands := hu.Candidates()
	for _, f := range p.CurrentSources() {
		if !slices.Contains(cands, f) && env.ObjectOf(f).Kind != kbuild.NotBuilt && bytes.Contains(p.File(f), []byte(path.Base(h))) {
			cands = append(cands, f)
		}
	}
	sort.Strings(cands)
	if len(cands) > MaxPreprocessed {
		return "", fmt.Sprintf("%d files the config may build include %s, more than the %d it preprocesses to find those whose code the change can reach", len(cands), h, MaxPreprocessed), nil
	}
	users, err := p.Compilable(cands)
	if err != nil {
		return "", "", err
	}
	if len(users) == 0 {
		return "", "no file the config builds that includes " + h + " compiles here", nil
	}
	dir, err := p.WorkDir()
	if err != nil {
		return "", "", err
	}
	current := p.CurrentFiles()
	original := p.CurrentFiles()
	original[h] = p.Original(h)
	comp := &build.Compiler{Env: env, Dir: dir}
	ctx := progress.Named(p.Context(), "samecode")
	variants := [2]*build.Variant{
		{Name: fmt.Sprintf("sc%02du", n%100), Files: current},
		{Name: fmt.Sprintf("sc%02do", n%100), Files: original},
	}
	// the includers whose preprocessed units the change leaves as they
	// are compile to the same code: only the others are compiled
	// (the patch's other files are compiled: only a compile shows they build)
	others := map[string]bool{}
	for f, text := range current {
		if f != h && !bytes.Equal(text, p.Original(f)) {
			others[f] = true
		}
	}
	same, reached, err := comp.SplitByPreprocessed(progress.Named(p.Context(), "samecode preprocess"), variants[0], variants[1], users, others, MaxUsers)
	if err != nil {
		return "", "", err
	}
	if len(reached) > MaxUsers {
		return "", fmt.Sprintf("the change to %s reaches the preprocessed code of more than %d of the %d files the config builds that include it (%s), more than it compiles and compares",
			h, MaxUsers, len(users), firstFew(reached)), nil
	}
	// the patched files first: when they need the change (a new member, a
	// new macro), that is known after two compiles, not 2 x every includer
	var patched, rest []string
	for _, u := range reached {
		if _, ok := p.Current[u]; ok {
			patched = append(patched, u)
		} else {
			rest = append(rest, u)
		}
	}
	var differ []string
	for _, batch := range [][]string{patched, rest} {
		if len(batch) == 0 {
			continue
		}
		ds, err := comp.CompareCode(ctx, variants[0], variants[1], batch, build.Options{Extra: []string{"-ffunction-sections", "-fdata-sections"}})
		if err != nil {
			return "", "", err
		}
		for _, d := range ds {
			switch {
			case d.A.Failed:
				return "", fmt.Sprintf("%s does not compile with the header as rewritten: %s", d.Source, d.A.FirstError()), nil
			case d.B.Failed:
				return "", fmt.Sprintf("%s needs the change to %s: with the original header, %s", d.Source, h, d.B.FirstError()), nil
			case len(d.Changed) > 0:
				differ = append(differ, fmt.Sprintf("%s (%s)", d.Source, firstFew(d.Changed)))
			}
		}
		if len(differ) > 0 {
			break
		}
	}
	if len(differ) > 0 {
		return "", fmt.Sprintf("the change to %s changes the code of %s", h, firstFew(differ)), nil
	}
	how := fmt.Sprintf("every file the config builds that includes it (%s: %s) compiles to the same functions and data with the original header",
		plural(len(users), "file"), firstFew(users))
	if len(same) > 0 {
		how += fmt.Sprintf(" (%d of them preprocess to the same code either way; the other %d were compiled and compared)", len(same), len(reached))
	}
	return how, "", nil
}

// firstFew joins up to three items and counts the rest.
func firstFew(items []string) string {
	if len(items) <= 3 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:3], ", "), len(items)-3)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
