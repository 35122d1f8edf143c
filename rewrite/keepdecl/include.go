package keepdecl

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// maxCompared is how many of the patch's files whose preprocessed code a
// kept #include reaches are compiled (twice each) and compared.
const maxCompared = 20

// sameCodeWithIncludes settles the #include lines among kept, the removals
// of header h that can stay, whose lines are in lines. An #include the
// upstream change removes from a header stays too, but on other grounds
// than a name: what it brings in is no longer there upstream, and the
// patch's own files could compile differently with it (a directive that
// asks about one of its macros, a declaration it changes). So the
// compiler judges: every file of the patch the config builds, as upstream
// has it, whose preprocessed unit the #include lines change is compiled
// with upstream's header and with the lines put back into it, and the two
// objects must have the same functions and data, byte for byte and
// relocation for relocation. (What other transforms then do to those
// files is theirs to prove, and verify compiles the result.) Files outside
// the patch see the header as the running kernel's did. An #include that fails the
// proof is refused, with what differs, and its lines leave lines; the
// other removals are returned as they were.
func sameCodeWithIncludes(p *rewrite.Pass, h string, kept []*removal, lines map[int]bool) ([]*removal, error) {
	var incs []*removal
	for _, r := range kept {
		if r.include != "" {
			incs = append(incs, r)
		}
	}
	if len(incs) == 0 {
		return kept, nil
	}
	// upstream's header with the #include lines back, and as it is: the
	// question is what they do to upstream's code, whatever the other
	// transforms make of it
	fc := p.ChangeOf(h)
	own := map[int]bool{}
	for _, r := range incs {
		maps.Copy(own, gen.LinesOf(fc.Pre, r.span))
	}
	with := gen.RestoreLines(p.Original(h), p.Upstream[h], own)
	proof, why, err := compareIncludes(p, h, with)
	if err != nil {
		return nil, err
	}
	if why != "" {
		for _, r := range incs {
			p.Refuse(r.entry, why)
			maps.DeleteFunc(lines, func(n int, _ bool) bool { return r.lines[n] })
		}
		return slices.DeleteFunc(kept, func(r *removal) bool { return r.include != "" }), nil
	}
	for _, r := range incs {
		r.proof = proof
	}
	return kept, nil
}

// compareIncludes compiles upstream's files of the patch with header h as
// with (upstream's, the #include lines back) and as upstream has it, and
// compares their code. It returns what it proved, or why it could not.
func compareIncludes(p *rewrite.Pass, h string, with []byte) (proof, why string, err error) {
	if !p.HasCompiler() {
		return "", "without a configured tree no compiler shows that the patched files compile to the same code with it", nil
	}
	var upstream []string
	for _, f := range p.CurrentSources() {
		if p.Upstream[f] != nil {
			upstream = append(upstream, f)
		}
	}
	srcs, err := p.Compilable(upstream)
	if err != nil {
		return "", "", err
	}
	if len(srcs) == 0 {
		return "no file of the patch the config builds compiles here, so nothing shows the #include leaves their code as upstream's", "", nil
	}
	dir, err := p.WorkDir()
	if err != nil {
		return "", "", err
	}
	withFiles, withoutFiles := maps.Clone(p.Upstream), maps.Clone(p.Upstream)
	withFiles[h] = with
	comp := &build.Compiler{Env: p.Env, Dir: dir}
	a := &build.Variant{Name: "kdinc", Files: withFiles}
	b := &build.Variant{Name: "kdnoinc", Files: withoutFiles}
	_, reached, err := comp.SplitByPreprocessed(progress.Named(p.Context(), "keepdecl preprocess"), a, b, srcs, nil, maxCompared)
	if err != nil {
		return "", "", p.Failed(err)
	}
	if len(reached) > maxCompared {
		return "", fmt.Sprintf("the #include reaches the preprocessed code of more than %d of the patch's files (%s), more than it compiles and compares", maxCompared, shown(reached)), nil
	}
	if len(reached) == 0 {
		return fmt.Sprintf("the patch's files (%s) preprocess to the same units with it as without it", shown(srcs)), "", nil
	}
	ds, err := comp.CompareCode(progress.Named(p.Context(), "keepdecl"), a, b, reached, build.Options{Extra: []string{"-ffunction-sections", "-fdata-sections"}})
	if err != nil {
		return "", "", p.Failed(err)
	}
	var differ []string
	for _, d := range ds {
		switch {
		case d.A.Failed:
			return "", fmt.Sprintf("%s does not compile with the #include kept: %s", d.Source, d.A.FirstError()), nil
		case d.B.Failed:
			return "", fmt.Sprintf("%s does not compile without it: %s", d.Source, d.B.FirstError()), nil
		case len(d.Changed) > 0:
			differ = append(differ, fmt.Sprintf("%s (%s)", d.Source, strings.Join(d.Changed[:min(3, len(d.Changed))], ", ")))
		}
	}
	if len(differ) > 0 {
		return "", fmt.Sprintf("kept, it changes the code of the patch's %s: upstream's files compile without it", shown(differ)), nil
	}
	return fmt.Sprintf("the patch's files it reaches (%s) compile to the same functions and data with it as without it", shown(reached)), "", nil
}
