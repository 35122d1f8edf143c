// Package verify proves (or refutes) that a rewritten patch is safe to hand
// to a livepatch builder, on the real configured tree: it applies, it
// compiles with kbuild's own flags, no existing struct or union changes its
// layout (DWARF of base and rewritten builds compared member by member), no
// header changes, and the functions whose code changes cover those the
// upstream patch changes. It compiles only what the patches reach.
package verify

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/internal/dialect"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/lpname"
	"github.com/kprewrite/kprewrite/objdiff"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// Input is what to verify.
type Input struct {
	Env       *kbuild.Env
	Rewritten *patch.Patch
	Original  *patch.Patch // the upstream patch, or nil to judge Rewritten alone
	// Structs are extra "struct X" / "union X" names whose layout must not
	// change (the transforms' own list).
	Structs  []string
	SplitDir string // write one patch per object here, "" for none
	Jobs     int
	Log      io.Writer
	// Work is the directory for this run's compiles (default: in the env's work area).
	Work string
	// Dialect is the livepatch glue the patch was written for ("klp" or
	// "kpatch"): compiles see the headers that builder provides. "" gives
	// kprewrite's bundled copies of every glue header.
	Dialect string
	// KpatchSrc is kpatch's source (directory or tarball) whose kmod/patch
	// headers the kpatch dialect compiles against; "" for the bundled copies.
	KpatchSrc string
}

// Check is one named check.
type Check struct {
	Name    string   `json:"name"`
	OK      bool     `json:"ok"`
	Skipped bool     `json:"skipped,omitempty"`
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

// Layout is the layout verdict for one struct or union.
type Layout struct {
	Struct    string   `json:"struct"`
	Header    string   `json:"header,omitempty"`
	Identical bool     `json:"identical"`           // base and rewritten layouts are the same
	Rewritten []string `json:"rewritten,omitempty"` // differences base -> rewritten (must be none)
	Original  []string `json:"original,omitempty"`  // what the upstream patch would change
	Seen      bool     `json:"seen"`                // found in the DWARF of a compiled object
}

// ObjectFuncs is the changed functions of one object.
type ObjectFuncs struct {
	Object    string   `json:"object"`
	Rewritten []string `json:"rewritten"`          // functions whose code the rewritten patch changes
	Original  []string `json:"original,omitempty"` // functions the upstream patch changes (layout shifts excluded)
	Missing   []string `json:"missing,omitempty"`  // changed by the upstream patch, not by the rewritten one
	// Inlined are functions the upstream patch changes that the rewritten
	// build has no copy of: gcc inlined them into their callers, which
	// the rewritten patch changes (all of them).
	Inlined []string `json:"inlined,omitempty"`
	// Encoded are functions the upstream patch changes and the rewritten
	// one does not, in a source file that is upstream's but for calls of
	// functions the rewrite defines (encodingOnly): their change is how
	// upstream encodes what those calls do.
	Encoded   []string `json:"encoded,omitempty"`
	EncodedBy []string `json:"encoded_by,omitempty"` // the source files and calls that make them so
	// Shifted are functions the upstream patch changes only by layout
	// shifts where its layout-only build could not show it (shiftOnly):
	// the same tokens in the base and upstream units, reaching only
	// functions that are the same too.
	Shifted []string `json:"shifted,omitempty"`
	Sources []string `json:"-"`               // the compiled sources of the object
	Extra   []string `json:"extra,omitempty"` // changed only by the rewritten patch
}

// Split is one per-object patch written by --split.
type Split struct {
	Object string   `json:"object"`
	File   string   `json:"file"`
	Files  []string `json:"files"`
}

// Report is the result of a verification.
type Report struct {
	OK       bool          `json:"ok"`
	Checks   []Check       `json:"checks"`
	Layouts  []Layout      `json:"layouts"`
	Objects  []ObjectFuncs `json:"objects"`
	Splits   []Split       `json:"splits,omitempty"`
	Compiled []string      `json:"compiled"` // source files compiled, per variant
	// Seconds is the run's wall time, for the log: not in the report,
	// which is the same for the same input.
	Seconds float64 `json:"-"`
	// Timings are the phase times of the run, with --timings only.
	Timings []progress.Phase `json:"timings,omitempty"`
}

func (r *Report) add(c Check) { r.Checks = append(r.Checks, c) }

// variant names: equal length, so paths compile to the same code.
const (
	vBase   = "base"
	vOrig   = "orig"
	vLayout = "layo"
	vNew    = "rewr"
	vKept   = "kept"
)

// scopeCheck fails when the rewritten patch changes what verify cannot
// compile and a livepatch does not carry: a file that is neither C source
// nor header (Makefile, Kconfig, assembly), or a built source it deletes.
func scopeCheck(env *kbuild.Env, newRes []*patch.FileResult) Check {
	c := Check{Name: "scope", OK: true, Summary: "the rewritten patch changes only C sources and headers"}
	for _, r := range newRes {
		switch {
		case !strings.HasSuffix(r.Path, ".c") && !strings.HasSuffix(r.Path, ".h"):
			c.OK = false
			c.Details = append(c.Details, r.Path+": not C source or header: verify does not prove it and a livepatch does not carry it")
		case strings.HasSuffix(r.Path, ".c") && r.New == nil && built(env, r.Path):
			c.OK = false
			c.Details = append(c.Details, r.Path+": deleted, yet the config builds it: a livepatch cannot remove an object's code")
		}
	}
	if !c.OK {
		c.Summary = "the rewritten patch changes files verify cannot prove"
	}
	return c
}

// dataCheck fails when the rewritten build changes a data object of the
// base build that the source names (a global or a file-scope static: its
// initializer, size or the addresses it holds). A livepatch replaces
// functions; the running kernel's data keeps its old bytes, so code that
// expects the new ones reads the old. gcc's own objects (static locals
// NAME.N, __func__ strings, __UNIQUE_ID_*, __ksymtab*) are left to the
// statics check and the builders.
func dataCheck(base []*build.Result, fs builtFuncs) Check {
	c := Check{Name: "data", OK: true}
	bcs, ncs := fs.baseCode, fs.rewrittenCode
	compared := 0
	for _, b := range base {
		bc, nc := bcs[b.Source], ncs[b.Source]
		if bc == nil || nc == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(bc)) {
			bo := bc[name]
			if !sourceData(name, bo.Section) {
				continue
			}
			compared++
			if no, ok := nc[name]; ok && no.Sum != bo.Sum {
				c.OK = false
				c.Details = append(c.Details, fmt.Sprintf("%s: %s (%s) changes: the running kernel's copy keeps its old contents (a livepatch replaces functions, not data); keep the data as it is and change the code that uses it", objectName(b), name, b.Source))
			}
		}
	}
	c.Summary = fmt.Sprintf("no data object of the running kernel changes (%d compared)", compared)
	if !c.OK {
		c.Summary = "the rewritten patch changes data the running kernel holds"
	}
	return c
}

// enumCheck fails when an enumeration constant has another value in the
// rewritten build of a source than in its base build: objects of the
// running kernel hold the old values as numbers (a state, a mode), and
// patched code that compares them with the new values misreads them
// (a state inserted before UIST_CREATED turns every created uinput device
// into a destroying one).
func enumCheck(base, rewritten []*build.Result) (Check, error) {
	c := Check{Name: "enums", OK: true}
	be, err := readObjects(base, "enumeration constants", layout.ReadEnumerators)
	if err != nil {
		return c, err
	}
	ne, err := readObjects(rewritten, "enumeration constants", layout.ReadEnumerators)
	if err != nil {
		return c, err
	}
	compared := map[string]bool{}
	failed := map[string]bool{}
	for _, b := range base {
		bv, nv := be[b.Source], ne[b.Source]
		for _, name := range slices.Sorted(maps.Keys(bv)) {
			n, ok := nv[name]
			if !ok {
				continue
			}
			compared[name] = true
			if n != bv[name] && !failed[name] {
				failed[name] = true
				c.OK = false
				c.Details = append(c.Details, fmt.Sprintf("%s is %d in the running kernel and %d in the rewritten patch (%s): objects that exist hold the old value; keep it and give new constants values after the old ones", name, bv[name], n, b.Source))
			}
		}
	}
	c.Summary = fmt.Sprintf("no enumeration constant changes its value (%d compared)", len(compared))
	if !c.OK {
		c.Summary = "the rewritten patch changes the values of enumeration constants"
	}
	return c, nil
}

// sourceData reports whether a symbol is a data object the source names:
// in a data section, without gcc's numbering (NAME.N) or a generated
// prefix.
func sourceData(name, section string) bool {
	if strings.Contains(name, ".") || strings.HasPrefix(name, "__") {
		return false
	}
	for _, p := range []string{".data", ".rodata", ".bss"} {
		if strings.HasPrefix(section, p) {
			return true
		}
	}
	return false
}

// proofNeeds are the checks without which nothing is proven: a run that
// had to skip one (nothing compiled; a config without ftrace, where no
// function can be livepatched) is not a proof.
var proofNeeds = map[string]bool{"compile": true, "ftrace": true}

// NotProven reports whether the report fails only because a check the
// proof needs could not run: nothing failed, nothing was proven either.
func (r *Report) NotProven() bool {
	if r.OK {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK && !c.Skipped {
			return false
		}
	}
	return true
}

// Run verifies. An error is returned only for failures of kprewrite itself
// (I/O, a missing toolchain); a patch that fails a check gives a report
// with OK false.
func Run(ctx context.Context, in Input) (*Report, error) {
	ctx = progress.Named(ctx, "verify")
	start := time.Now()
	env := in.Env
	log := in.Log
	if log == nil {
		log = io.Discard
	}
	r := &Report{}
	if err := env.Prepare(); err != nil {
		return nil, err
	}
	work := in.Work
	if work == "" {
		var err error
		work, err = os.MkdirTemp(filepath.Join(env.Work), "verify-")
		if err != nil {
			if err := os.MkdirAll(env.Work, 0o755); err != nil {
				return nil, kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
			}
			if work, err = os.MkdirTemp(env.Work, "verify-"); err != nil {
				return nil, kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
			}
		}
		defer os.RemoveAll(work)
	}

	// 1. Apply.
	newFiles, newRes, err := applyPatch(env.Tree, in.Rewritten)
	applyCheck := Check{Name: "apply", OK: err == nil}
	if err != nil {
		applyCheck.Summary = "the rewritten patch does not apply: " + err.Error()
		r.add(applyCheck)
		r.Seconds = time.Since(start).Seconds()
		return r, nil
	}
	applyCheck.Summary = "the rewritten patch applies to the base tree"
	var origFiles map[string][]byte
	var origRes []*patch.FileResult
	if in.Original != nil {
		origFiles, origRes, err = applyPatch(env.Tree, in.Original)
		if err != nil {
			applyCheck.OK = false
			applyCheck.Summary = "the original patch does not apply: " + err.Error()
			r.add(applyCheck)
			r.Seconds = time.Since(start).Seconds()
			return r, nil
		}
		applyCheck.Summary += "; so does the original"
	}
	r.add(applyCheck)

	// What the patches change.
	newChanges := changesOf(newRes)
	origChanges := changesOf(origRes)

	// What verify cannot prove: a file that is not C, or a source of the
	// config's objects that the rewritten patch deletes.
	if c := scopeCheck(env, newRes); !c.OK {
		r.add(c)
	}

	// 2. Which sources to compile.
	sources, method, err := sourcesFor(env, newRes, origRes, origChanges, newChanges)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "kprewrite verify: compiling %s per variant (%s)\n", plural(len(sources), "source file"), method)
	r.Compiled = sources

	// Layout probes: which structs, seen through which compiled source.
	structs, headerOf := structsToCheck(env, origRes, newRes, in.Structs)
	probes := layoutProbes(env, structs, headerOf, sources)

	glue, glueCheck, err := chooseGlue(env, in)
	if err != nil {
		return nil, err
	}
	comp := &build.Compiler{Env: env, Dir: work, Jobs: in.Jobs, Glue: glue}
	opt := build.Options{Extra: []string{"-ffunction-sections", "-fdata-sections", "-g"}, Append: probes, MaxErrors: 20}
	compile := func(name string, files map[string][]byte) ([]*build.Result, error) {
		return comp.Compile(ctx, &build.Variant{Name: name, Files: files}, sources, opt)
	}
	claims := []bitfieldClaim{}
	if in.Original != nil {
		claims = bitfieldClaims(newFiles)
	}
	newAppend := map[string]string{}
	for _, cl := range claims {
		newAppend[cl.file] += cl.probeText()
	}
	// Every variant keeps base's line numbers after its changes (#line), as
	// klp-build does, so __LINE__ alone does not make a function change.
	baseOf := func(rel string) []byte {
		d, err := env.Tree.ReadFile(rel)
		if err != nil {
			return nil
		}
		return d
	}
	newV := &build.Variant{Name: vNew, Files: withPreservedLines(baseOf, newFiles), Append: newAppend}
	var origV *build.Variant
	var lay, kept map[string][]byte
	if in.Original != nil {
		origV = &build.Variant{Name: vOrig, Files: withPreservedLines(baseOf, origFiles)}
		if l := layoutOnly(env.Tree, origChanges); l != nil {
			lay = withPreservedLines(baseOf, l)
		}
		if k := keptRemoved(origFiles, origChanges); k != nil {
			kept = withPreservedLines(baseOf, k)
		}
	}
	// The variants compile at once, sharing the compiler's pool of jobs.
	var baseRes, newBuild, origBuild, layoBuild, keptBuild []*build.Result
	var g errGroup
	g.Go(func() (err error) { baseRes, err = compile(vBase, nil); return })
	g.Go(func() (err error) { newBuild, err = comp.Compile(ctx, newV, sources, opt); return })
	if origV != nil {
		g.Go(func() (err error) { origBuild, err = comp.Compile(ctx, origV, sources, opt); return })
	}
	if lay != nil {
		g.Go(func() (err error) { layoBuild, err = compile(vLayout, lay); return })
	}
	if kept != nil {
		g.Go(func() (err error) { keptBuild, err = compile(vKept, kept); return })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if build.Failed(newBuild) {
		// report errors with the real line numbers
		plain, err := comp.Compile(ctx, &build.Variant{Name: vNew, Files: newFiles, Append: newAppend}, sources, opt)
		if err != nil {
			return nil, err
		}
		newBuild = plain
	}
	// A base tree that does not compile says nothing about the patch: the
	// tree and config given are not a kernel kprewrite can prove against.
	if build.Failed(baseRes) {
		return nil, kperr.CompileFailure("the base tree does not compile with this config (before any patch): check --tree and --config (a tree prepared for this config, the same compiler)", build.Failures(baseRes))
	}
	compileCheck := Check{Name: "compile", OK: true}
	for _, d := range build.Failures(newBuild) {
		compileCheck.OK = false
		compileCheck.Details = append(compileCheck.Details, d)
	}
	if compileCheck.OK && len(sources) == 0 {
		// nothing to compile is no proof of anything: say so
		compileCheck.Skipped = true
		compileCheck.Summary = "nothing to compile: the config builds none of the source files the patches change, and no file it builds names what they change in headers; nothing was compiled or proven"
	} else if compileCheck.OK {
		compileCheck.Summary = fmt.Sprintf("%s compiled with kbuild's flags for base and rewritten trees", plural(len(sources), "source file"))
		if in.Original != nil {
			if errs := build.Failures(origBuild); len(errs) > 0 {
				compileCheck.Summary += fmt.Sprintf(" (the original patch itself fails to compile: %s)", errs[0])
			}
		}
	} else {
		compileCheck.Summary = "the rewritten tree does not compile"
	}
	r.add(compileCheck)
	if glueCheck != nil {
		r.add(*glueCheck)
	}

	// 3. Layout proof.
	baseL, err := readLayouts(baseRes)
	if err != nil {
		return nil, err
	}
	newL, err := readLayouts(newBuild)
	if err != nil {
		return nil, err
	}
	origL, err := readLayouts(origBuild)
	if err != nil {
		return nil, err
	}
	layoutCheck := Check{Name: "layout", OK: true}
	same := 0
	for _, s := range structs {
		l := Layout{Struct: s, Header: headerOf[s]}
		b, okB := baseL[s]
		n, okN := newL[s]
		l.Seen = okB || okN
		switch {
		case okB && okN:
			l.Rewritten = layout.Diff(b, n)
			l.Identical = len(l.Rewritten) == 0
		case okB != okN:
			l.Rewritten = []string{"present in only one of the base and rewritten builds"}
		default:
			l.Identical = true
		}
		if o, ok := origL[s]; ok && okB {
			l.Original = layout.Diff(b, o)
		}
		if !l.Identical {
			layoutCheck.OK = false
			layoutCheck.Details = append(layoutCheck.Details, fmt.Sprintf("%s: %s", s, strings.Join(l.Rewritten, "; ")))
		} else if l.Seen {
			same++
		}
		if !l.Identical || len(l.Original) > 0 {
			r.Layouts = append(r.Layouts, l)
		}
	}
	unseen := 0
	for _, s := range structs {
		if _, ok := baseL[s]; !ok {
			unseen++
		}
	}
	layoutCheck.Summary = fmt.Sprintf("%d structs/unions compared in DWARF: %d identical", len(structs)-unseen, same)
	if unseen > 0 {
		layoutCheck.Summary += fmt.Sprintf(", %d not in any compiled object", unseen)
	}
	for _, l := range r.Layouts {
		if len(l.Original) > 0 {
			layoutCheck.Details = append(layoutCheck.Details, fmt.Sprintf("the upstream patch would change %s: %s", l.Struct, strings.Join(l.Original, "; ")))
		}
	}
	r.add(layoutCheck)

	if len(claims) > 0 {
		r.add(bitfieldCheck(claims, newBuild, origL, baseL))
	}

	// 4. Headers.
	r.add(headerCheck(env, newChanges))
	ec, err := enumCheck(baseRes, newBuild)
	if err != nil {
		return nil, err
	}
	r.add(ec)

	// 5. Changed functions.
	fs, err := readFuncs(baseRes, newBuild, origBuild, layoBuild)
	if err != nil {
		return nil, err
	}
	if keptBuild != nil {
		kf, err := readFuncs(nil, keptBuild, nil, nil)
		if err != nil {
			return nil, err
		}
		fs.kept = kf.rewritten
	}
	fs.rewrittenFiles = newFiles
	fs.upstreamFiles = origFiles
	var envErr error // a failure of the environment while comparing: stops the run
	if origV != nil {
		// gcc -E of a source file in one tree, once per tree and file:
		// encodingOnly asks for the upstream and rewritten units, shiftOnly
		// for the base and upstream ones
		trees := map[string]*build.Variant{
			vBase: {Name: vBase},
			vOrig: origV,
			// the rewritten tree without verify's probes (bitfield claims)
			vNew: {Name: newV.Name, Files: newV.Files},
		}
		units := map[[2]string][]byte{}
		fs.preprocess = func(tree, src string) ([]byte, error) {
			if u, ok := units[[2]string{tree, src}]; ok {
				return u, nil
			}
			rs, err := comp.Compile(progress.Named(ctx, "functions"), trees[tree], []string{src}, build.Options{Preprocess: true, MaxErrors: 5})
			if err != nil {
				if envErr == nil {
					envErr = err
				}
				return nil, err
			}
			if rs[0].Failed {
				return nil, fmt.Errorf("gcc -E %s failed in the %s tree", src, map[string]string{vBase: "base", vOrig: "upstream", vNew: "rewritten"}[tree])
			}
			units[[2]string{tree, src}] = rs[0].Preprocessed
			return rs[0].Preprocessed, nil
		}
		fs.changedMembers = changedMembers(origChanges)
	}
	funcCheck, objs := compareFunctions(baseRes, fs)
	if envErr != nil {
		return nil, envErr
	}
	if errs := build.Failures(origBuild); len(errs) > 0 {
		// what upstream changes is unknown: nothing shows the rewritten
		// patch changes all of it
		funcCheck.OK = false
		funcCheck.Summary = "the upstream patch does not compile, so the functions it changes are unknown and nothing shows the rewritten patch changes them all: " + errs[0]
	}
	r.Objects = objs
	r.add(funcCheck)
	r.add(ftraceCheck(env, baseRes, fs))
	jc, err := jumpLabelCheck(env, baseRes, newBuild, origBuild, fs)
	if err != nil {
		return nil, err
	}
	r.add(jc)
	r.add(dataCheck(baseRes, fs))

	// 6. Static local data.
	if compileCheck.OK {
		sc, err := staticsCheck(ctx, comp, sources, staticVariants{base: &build.Variant{Name: vBase}, rewritten: newV, original: origV,
			baseRes: baseRes, newRes: newBuild, origRes: origBuild})
		if err != nil {
			return nil, err
		}
		r.add(sc)
	}

	// 7. Style.
	sc, err := styleCheck(env, in.Rewritten, in.Original)
	if err != nil {
		return nil, err
	}
	r.add(sc)

	// 8. Split.
	if in.SplitDir != "" {
		c, splits, err := split(ctx, env, comp, in, newRes)
		if err != nil {
			return nil, err
		}
		r.Splits = splits
		r.add(c)
	}

	r.OK = true
	for _, c := range r.Checks {
		if !c.OK && !c.Skipped || c.Skipped && proofNeeds[c.Name] {
			r.OK = false
		}
	}
	r.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(log, "kprewrite verify: done in %.1f s\n", r.Seconds)
	return r, nil
}

// chooseGlue returns the glue headers the compiles see, and, when the
// rewritten patch includes a glue header, the check that says which.
func chooseGlue(env *kbuild.Env, in Input) (build.Glue, *Check, error) {
	glue := build.Glue{Dialect: in.Dialect}
	if !dialect.UsesGlue(patch.Render(in.Rewritten, patch.RenderOptions{})) {
		return glue, nil, nil
	}
	c := &Check{Name: "glue", OK: true}
	switch in.Dialect {
	case dialect.KLP:
		if env.Tree.Exists(dialect.KLPHelpers) {
			c.Summary = "klp glue compiled against the tree's own " + dialect.KLPHelpers
		} else {
			c.OK = false
			c.Summary = "the klp glue needs " + dialect.KLPHelpers + ", which this tree does not have (klp-build came with Linux 6.19): rewrite with --dialect kpatch"
		}
	case dialect.Kpatch:
		if in.KpatchSrc == "" {
			c.Summary = "kpatch glue compiled against kprewrite's bundled copies of kpatch-macros.h and kpatch-syscall.h: kpatch's source was not found (set KPREWRITE_KPATCH_SRC to prove it against kpatch's own headers)"
			break
		}
		dir, err := dialect.KpatchInclude(in.KpatchSrc, filepath.Dir(filepath.Dir(env.Work)))
		if err != nil {
			return glue, nil, err
		}
		glue.KpatchDir = dir
		c.Summary = "kpatch glue compiled against kpatch's own kmod/patch headers (from " + in.KpatchSrc + "), as kpatch-build does"
	default:
		c.Summary = "glue compiled against kprewrite's bundled copies of the builders' headers (no dialect given)"
	}
	return glue, c, nil
}

// errGroup runs functions in goroutines and returns the first error.
type errGroup struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs error
}

// Go runs fn in a goroutine.
func (g *errGroup) Go(fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				g.mu.Lock()
				if g.errs == nil {
					g.errs = kperr.FromPanic(r)
				}
				g.mu.Unlock()
			}
		}()
		if err := fn(); err != nil {
			g.mu.Lock()
			if g.errs == nil {
				g.errs = err
			}
			g.mu.Unlock()
		}
	}()
}

// Wait waits for every function and returns the first error.
func (g *errGroup) Wait() error {
	g.wg.Wait()
	return g.errs
}

func applyPatch(t *tree.Tree, p *patch.Patch) (map[string][]byte, []*patch.FileResult, error) {
	res, err := p.Apply(t)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	for _, r := range res {
		files[r.Path] = r.New
	}
	return files, res, nil
}

func changesOf(res []*patch.FileResult) []*change.File {
	var out []*change.File
	for _, r := range res {
		out = append(out, change.Compute(r.Path, r.Old, r.New))
	}
	return out
}

// sourcesFor chooses the .c files to compile: those the patches touch, and
// the users of changed headers that name something the header change is
// about (a fast textual filter on top of the exact list of includers).
func sourcesFor(env *kbuild.Env, newRes, origRes []*patch.FileResult, origCh, newCh []*change.File) ([]string, string, error) {
	set := map[string]bool{}
	method := "the files the patches change"
	for _, rs := range [][]*patch.FileResult{newRes, origRes} {
		for _, r := range rs {
			if !strings.HasSuffix(r.Path, ".c") || r.New == nil {
				continue
			}
			if built(env, r.Path) {
				set[r.Path] = true
				continue
			}
			// a .c file the config builds only through another's #include
			// (kernel/sched/build_policy.c includes rt.c): its includers
			// compile it
			users, how, err := env.Includers(r.Path)
			if err != nil {
				return nil, "", err
			}
			for _, u := range users {
				if built(env, u) {
					set[u] = true
					method = "the files the patches change, and the files that #include a changed .c file (" + how + ")"
				}
			}
		}
	}
	for _, chs := range [][]*change.File{origCh, newCh} {
		for _, fc := range chs {
			if !fc.IsHeader || fc.Diff == nil {
				continue
			}
			users, how, err := env.Includers(fc.Path)
			if err != nil {
				return nil, "", err
			}
			method = "the files the patches change, and the users of changed headers (" + how + ") that name what changed"
			layoutOnly := layoutOnlyChange(fc)
			if layoutOnly || slices.ContainsFunc(fc.Changes, isLayout) {
				// Struct layout changes: a user's functions change only by
				// layout shifts, which the layout-only build cancels. One user
				// that names the struct gives its DWARF. (Other changes of the
				// header, below, still reach every user that names them.)
				names := headerNames(fc, isLayout)
				have := false
				for _, u := range users {
					if set[u] {
						have = true
						break
					}
				}
				for _, u := range users {
					if !have && built(env, u) && mentions(env, u, names) {
						set[u] = true
						have = true
					}
				}
				if layoutOnly {
					continue
				}
			}
			names := headerNames(fc, func(ch *change.Change) bool { return !isLayout(ch) })
			for _, u := range users {
				if set[u] || !(built(env, u) || len(unitsOf(env, u)) > 0) {
					continue
				}
				if names == nil || mentions(env, u, names) {
					// a .c file others #include (drivers/net/wan/hd64572.c)
					// is compiled in each unit the config builds
					for _, unit := range append([]string{u}, unitsOf(env, u)...) {
						if built(env, unit) {
							set[unit] = true
						}
					}
				}
			}
		}
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, method, nil
}

// unitsOf returns the .c files the config builds that #include rel, a .c
// file compiled only as part of them (Object.IncludedIn, AlsoIn), or nil.
func unitsOf(env *kbuild.Env, rel string) []string {
	o := env.ObjectOf(rel)
	if o.IncludedIn == "" {
		return nil
	}
	return append([]string{o.IncludedIn}, o.AlsoIn...)
}

// built reports whether the config builds rel as a unit of its own: a .c
// file another #includes (Object.IncludedIn) is compiled through that one.
func built(env *kbuild.Env, rel string) bool {
	o := env.ObjectOf(rel)
	if o.IncludedIn != "" {
		return false
	}
	return o.Kind == kbuild.Vmlinux || o.Kind == kbuild.Module || (env.Config == nil && o.Kind != kbuild.NotBuilt)
}

// layoutOnlyChange reports whether a header change only changes struct
// definitions (members added, removed, retyped ...).
func layoutOnlyChange(fc *change.File) bool {
	if len(fc.Changes) == 0 {
		return false
	}
	for _, ch := range fc.Changes {
		if !isLayout(ch) && ch.Kind != change.CommentOnly {
			return false
		}
	}
	return true
}

// isLayout reports whether ch changes a struct's members (layout,
// types, widths, order, conditions).
func isLayout(ch *change.Change) bool {
	switch ch.Kind {
	case change.MemberAdded, change.MemberRemoved, change.MemberRetyped, change.MemberBits, change.MemberReordered, change.MemberCond:
		return true
	}
	return false
}

// headerNames lists identifiers the changes of fc that of selects are
// about; nil means they cannot be summarised by names (then every user is
// compiled). A header's struct layout changes and its other changes are
// asked about apart: the users of a struct change only by shifts the
// layout-only build cancels (one user gives the layout), so struct
// device's users are not all compiled because a macro next to it changes.
func headerNames(fc *change.File, of func(*change.Change) bool) []string {
	set := map[string]bool{}
	for _, ch := range fc.Changes {
		if !of(ch) {
			continue
		}
		switch {
		case ch.Struct != "":
			set[ch.Struct] = true
			// users of structs that embed it see the change too
			if fc.Post != nil {
				for _, s := range fc.Post.Structs {
					for _, m := range s.Members {
						if m.Type == "struct "+ch.Struct || m.Type == "union "+ch.Struct {
							if s.Name != "" {
								set[s.Name] = true
							}
						}
					}
				}
			}
		case ch.Func != "":
			set[ch.Func] = true
		case ch.Name != "":
			set[ch.Name] = true
		case ch.Kind == change.CommentOnly:
		default:
			return nil
		}
	}
	// follow header-local users: inlines and macros of the same header that
	// use a changed name are changed for their callers too
	if fc.Post != nil {
		for i := 0; i < 4; i++ {
			for _, fn := range fc.Post.Funcs {
				if set[fn.Name] {
					continue
				}
				for _, t := range fc.Post.CodeTokens(fn.Body) {
					if t.Kind == ast.Ident && set[t.Text] {
						set[fn.Name] = true
						break
					}
				}
			}
			for _, m := range fc.Post.Macros {
				if set[m.Name] {
					continue
				}
				for _, w := range ast.Tokenize([]byte(m.Body)) {
					if w.Kind == ast.Ident && set[w.Text] {
						set[m.Name] = true
						break
					}
				}
			}
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func mentions(env *kbuild.Env, rel string, names []string) bool {
	data, err := env.Tree.ReadFile(rel)
	if err != nil {
		return true
	}
	named := func(text string) bool {
		for _, n := range names {
			if text == n {
				return true
			}
		}
		return false
	}
	for _, t := range ast.Tokenize(data) {
		switch t.Kind {
		case ast.Ident:
			if named(t.Text) {
				return true
			}
		case ast.Directive:
			// "#if RING_LIMIT > 100" uses the macro too
			for _, w := range ast.Tokenize([]byte(t.Text[1:])) {
				if w.Kind == ast.Ident && named(w.Text) {
					return true
				}
			}
		}
	}
	return false
}

// structsToCheck lists the structs and unions defined (in the base tree) in
// headers either patch touches, and in the .c files it touches (a driver's
// private struct is as alive in the running kernel as a header's), plus
// the extra ones asked for. It returns where each is defined.
func structsToCheck(env *kbuild.Env, origRes, newRes []*patch.FileResult, extra []string) ([]string, map[string]string) {
	headerOf := map[string]string{}
	set := map[string]bool{}
	for _, rs := range [][]*patch.FileResult{origRes, newRes} {
		for _, r := range rs {
			if !(change.IsHeader(r.Path) || strings.HasSuffix(r.Path, ".c")) || r.Old == nil {
				continue
			}
			f := ast.Parse(r.Path, r.Old)
			for _, s := range f.Structs {
				if s.Name == "" || s.Parent != nil {
					continue
				}
				k := layout.Key(s.Kind, s.Name)
				set[k] = true
				headerOf[k] = r.Path
			}
		}
	}
	for _, s := range extra {
		set[s] = true
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, headerOf
}

// layoutProbes makes sure each struct appears in the DWARF of some
// compiled source by appending a used pointer variable of its type to a
// source that includes its header. The same text is appended in every
// variant, so it changes no function.
func layoutProbes(env *kbuild.Env, structs []string, headerOf map[string]string, sources []string) map[string]string {
	compiled := map[string]bool{}
	for _, s := range sources {
		compiled[s] = true
	}
	probes := map[string]string{}
	users := map[string][]string{}
	for i, s := range structs {
		h := headerOf[s]
		if h == "" {
			continue
		}
		us, ok := users[h]
		if !ok {
			if strings.HasSuffix(h, ".c") {
				us = []string{h} // a struct of the file itself
			} else {
				us, _, _ = env.Includers(h)
			}
			users[h] = us
		}
		for _, u := range us {
			if compiled[u] {
				probes[u] += fmt.Sprintf("\nstatic %s *__kprewrite_layout_probe_%d __attribute__((__used__));", s, i)
				break
			}
		}
	}
	for u, p := range probes {
		probes[u] = "\n/* kprewrite verify: layout probes */" + p + "\n"
	}
	return probes
}

// layoutOnly returns the base tree with only the struct definition changes
// of the upstream patch applied to its headers, or nil when it has none. Its
// functions differ from base only by layout shifts, which the rewritten
// patch rightly does not reproduce.
func layoutOnly(t *tree.Tree, chs []*change.File) map[string][]byte {
	files := map[string][]byte{}
	for _, fc := range chs {
		if !fc.IsHeader || fc.Pre == nil || fc.Post == nil {
			continue
		}
		type repl struct {
			span ast.Span
			text string
		}
		// removed members stay (the base code still uses them): the
		// struct is the upstream one with them kept, as in keptRemoved
		post := fc.Post
		if k := fc.RestoreRemoved(); k != nil {
			post = ast.Parse(fc.Path, k)
		}
		var rs []repl
		for _, ch := range fc.Changes {
			if ch.PreStruct == nil || ch.PostStruct == nil {
				continue
			}
			st := change.SameStruct(fc.Post, ch.PostStruct, post)
			if st == nil {
				continue
			}
			rs = append(rs, repl{ch.PreStruct.Span, post.Text(st.Span)})
		}
		if len(rs) == 0 {
			continue
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].span.Off < rs[j].span.Off })
		src := fc.Pre.Src
		var b strings.Builder
		// the headers a new member's type needs (a spinlock_t and its
		// #include <linux/spinlock.h>): without them nothing compiles
		for _, ch := range fc.Changes {
			if ch.Kind != change.IncludeAdded {
				continue
			}
			for _, in := range fc.Post.Includes {
				if in.Path == ch.Name {
					b.WriteString(fc.Post.Text(in.Span) + "\n")
					break
				}
			}
		}
		last := 0
		for _, r := range rs {
			if r.span.Off < last {
				continue // several changes of one struct
			}
			b.Write(src[last:r.span.Off])
			b.WriteString(r.text)
			last = r.span.End
		}
		b.Write(src[last:])
		files[fc.Path] = []byte(b.String())
	}
	if len(files) == 0 {
		return nil
	}
	return files
}

// keptRemoved returns the upstream tree's files with the members the
// upstream patch removes put back into their structs (change.Restore), or
// nil when it removes none. Its code is the upstream code (which no longer
// uses them); its layout is the layout-only build's, so comparing the two
// leaves exactly the functions whose code the upstream patch changes, not
// those a removed member's shift changes.
func keptRemoved(files map[string][]byte, chs []*change.File) map[string][]byte {
	var out map[string][]byte
	for _, fc := range chs {
		if !fc.IsHeader {
			continue
		}
		if k := fc.RestoreRemoved(); k != nil {
			if out == nil {
				out = map[string][]byte{}
				for f, d := range files {
					out[f] = d
				}
			}
			out[fc.Path] = k
		}
	}
	return out
}

// readLayouts reads the DWARF layouts of compiled objects. An object gcc
// wrote that cannot be read is kprewrite's failure, not a layout without
// structs: it stops the run.
func readLayouts(rs []*build.Result) (layout.Layouts, error) {
	out := layout.Layouts{}
	for _, r := range rs {
		if r.Object == "" {
			continue
		}
		l, err := layout.ReadObject(r.Object)
		if err != nil {
			return nil, kperr.Internalf(err, "reading the DWARF of %s (compiled from %s)", r.Object, r.Source)
		}
		out.Merge(l)
	}
	return out, nil
}

// headerCheck fails when the rewritten patch changes a header that code
// the config builds includes: a livepatch replaces functions, and the
// header's other includers keep the old text. A header that only files
// the config does not build include is listed and passes: nothing of it
// is in the kernel.
func headerCheck(env *kbuild.Env, newCh []*change.File) Check {
	c := Check{Name: "headers", OK: true, Summary: "the rewritten patch changes no header"}
	for _, fc := range newCh {
		if !fc.IsHeader || fc.Diff == nil {
			continue
		}
		if env != nil && env.Config != nil && !env.HasBuild() {
			if hu, err := env.HeaderUsers(fc.Path); err == nil && hu.NoneBuilt() {
				c.Details = append(c.Details, fmt.Sprintf("%s: changed, but no file the config builds includes it (its includers %s are not built)", fc.Path, strings.Join(hu.NotBuilt, ", ")))
				continue
			}
		}
		neutral := true
		for _, ch := range fc.Changes {
			if ch.Kind != change.CommentOnly {
				neutral = false
				c.Details = append(c.Details, fmt.Sprintf("%s:%d: %s: %s", fc.Path, ch.Line, ch.Kind, ch.Subject))
			}
		}
		if !neutral {
			c.OK = false
			c.Summary = "the rewritten patch changes headers"
		} else {
			c.Details = append(c.Details, fc.Path+": comment or whitespace only")
		}
	}
	return c
}

// builtFuncs is the functions of every compiled object, by source file,
// for each variant of the tree.
type builtFuncs struct {
	base, rewritten, original, layout map[string]map[string]objdiff.Func
	// baseCode and rewrittenCode are the functions and the data objects
	// of the base and rewritten builds (objdiff.Code), for the data check:
	// each object is read once.
	baseCode, rewrittenCode map[string]map[string]objdiff.Func
	// kept is the upstream build with the members it removes kept in
	// their structs (keptRemoved), when it removes any: its code is the
	// upstream code, its layout the layout-only build's.
	kept        map[string]map[string]objdiff.Func
	hasOriginal bool // verify was given the upstream patch
	// rewrittenFiles are the files the rewritten patch changes, as it
	// leaves them (to tell a function gcc inlined from one it lost).
	rewrittenFiles map[string][]byte
	// upstreamFiles are the files the upstream patch changes, as it
	// leaves them (to tell an encoding from a forgotten change).
	upstreamFiles map[string][]byte
	// preprocess returns gcc -E of a source file in one tree (vBase,
	// vOrig: upstream, vNew: rewritten), for encodingOnly and shiftOnly.
	preprocess func(tree, src string) ([]byte, error)
	// changedMembers are the members the upstream patch retypes or adds.
	changedMembers map[string]bool
}

// upstreamRef is what the upstream build of src is compared with: the
// base with only the upstream layout changes applied when that build
// exists (so functions that change only by layout shifts drop out), else
// the base.
func (fs builtFuncs) upstreamRef(src string) map[string]objdiff.Func {
	if lf, ok := fs.layout[src]; ok {
		return lf
	}
	return fs.base[src]
}

// readFuncs reads the functions of compiled objects, and keeps the data
// objects of the base and rewritten builds for the data check; an object
// that cannot be read stops the run, as in readLayouts.
func readFuncs(base, rewritten, original, layo []*build.Result) (builtFuncs, error) {
	bf := builtFuncs{hasOriginal: original != nil}
	for _, x := range []struct {
		to, code *map[string]map[string]objdiff.Func
		rs       []*build.Result
	}{{&bf.base, &bf.baseCode, base}, {&bf.rewritten, &bf.rewrittenCode, rewritten}, {&bf.original, nil, original}, {&bf.layout, nil, layo}} {
		m, err := readObjects(x.rs, "code", objdiff.Code)
		if err != nil {
			return bf, err
		}
		if x.code != nil {
			*x.code = m
		}
		*x.to = functionsOf(m)
	}
	return bf, nil
}

// functionsOf keeps the functions of each object's code.
func functionsOf(code map[string]map[string]objdiff.Func) map[string]map[string]objdiff.Func {
	out := make(map[string]map[string]objdiff.Func, len(code))
	for src, syms := range code {
		fns := map[string]objdiff.Func{}
		for name, f := range syms {
			if !f.Data {
				fns[name] = f
			}
		}
		out[src] = fns
	}
	return out
}

// readObjects reads what read gives of each compiled object, by source.
// An object gcc wrote that kprewrite cannot read is kprewrite's failure,
// never an object without what was asked.
func readObjects[T any](rs []*build.Result, what string, read func(path string) (T, error)) (map[string]T, error) {
	out := map[string]T{}
	for _, r := range rs {
		if r == nil || r.Object == "" {
			continue
		}
		v, err := read(r.Object)
		if err != nil {
			return nil, kperr.Internalf(err, "reading the %s of %s (compiled from %s)", what, r.Object, r.Source)
		}
		out[r.Source] = v
	}
	return out, nil
}

// inlinedInto reports whether function name has no copy in the rewritten
// build of any of srcs while a rewritten source still defines it: gcc
// inlined it, so its code is in its callers. It returns those callers
// (found in the rewritten text) when every one of them changed (changed),
// and "" otherwise.
func inlinedInto(fs builtFuncs, srcs []string, name string, changed map[string]bool) string {
	for _, src := range srcs {
		text, ok := fs.rewrittenFiles[src]
		if !ok {
			continue
		}
		for sym := range fs.rewritten[src] {
			if objdiff.BaseName(sym) == name {
				return "" // built out of line (maybe as a clone), and unchanged
			}
		}
		f := ast.Parse(src, text)
		if f.Func(name) == nil {
			continue
		}
		var callers []string
		for _, fn := range f.Funcs {
			if fn.Name == name {
				continue
			}
			toks := f.CodeTokens(fn.Body)
			for i := 0; i+1 < len(toks); i++ {
				if toks[i].Text == name && toks[i+1].Text == "(" {
					callers = append(callers, fn.Name)
					break
				}
			}
		}
		if len(callers) == 0 {
			return ""
		}
		for _, c := range callers {
			if !changed[c] {
				return ""
			}
		}
		return strings.Join(callers, ", ")
	}
	return ""
}

// objectName is the object a compiled file links into.
func objectName(r *build.Result) string {
	if r.Module != "" {
		return r.Module
	}
	return "vmlinux"
}

// compareFunctions lists changed functions per object and checks that the
// rewritten patch changes every function the upstream patch changes (other
// than by layout shifts).
func compareFunctions(base []*build.Result, fs builtFuncs) (Check, []ObjectFuncs) {
	c := Check{Name: "functions", OK: true}
	b, n, o := fs.base, fs.rewritten, fs.original
	hasOriginal := fs.hasOriginal
	per := map[string]*ObjectFuncs{}
	get := func(obj string) *ObjectFuncs {
		if per[obj] == nil {
			per[obj] = &ObjectFuncs{Object: obj}
		}
		return per[obj]
	}
	names := func(chs []objdiff.Change, src string) []string {
		var out []string
		for _, ch := range chs {
			if ch.How != "removed" {
				out = append(out, ch.Name)
			}
		}
		return out
	}
	for _, r := range base {
		src := r.Source
		of := get(objectName(r))
		of.Sources = append(of.Sources, src)
		if nf, ok := n[src]; ok {
			of.Rewritten = append(of.Rewritten, names(objdiff.Compare(b[src], nf), src)...)
		}
		if !hasOriginal {
			continue
		}
		if ofs, ok := o[src]; ok {
			if kfs, ok := fs.kept[src]; ok {
				ofs = kfs // same code, and the layout upstreamRef has
			}
			of.Original = append(of.Original, names(objdiff.Compare(fs.upstreamRef(src), ofs), src)...)
		}
	}
	var out []ObjectFuncs
	var objs []string
	for k := range per {
		objs = append(objs, k)
	}
	sort.Slice(objs, func(i, j int) bool {
		if (objs[i] == "vmlinux") != (objs[j] == "vmlinux") {
			return objs[i] == "vmlinux"
		}
		return objs[i] < objs[j]
	})
	total := 0
	encoded := map[string]encoding{}
	shiftUnits := map[string]*units{}
	var notEncoded []string // why files with missing functions are no encoding
	for _, k := range objs {
		of := per[k]
		sort.Strings(of.Rewritten)
		sort.Strings(of.Original)
		rw := map[string]bool{}
		for _, f := range of.Rewritten {
			rw[objdiff.BaseName(f)] = true
			// a header function moved into the .c file under a new name
			// (header2c's "_lp" copies) stands for the original
			if b := lpname.Original(objdiff.BaseName(f)); b != "" {
				rw[b] = true
			}
		}
		orig := map[string]bool{}
		for _, f := range of.Original {
			orig[objdiff.BaseName(f)] = true
			if rw[objdiff.BaseName(f)] {
				continue
			}
			if callers := inlinedInto(fs, of.Sources, objdiff.BaseName(f), rw); callers != "" {
				of.Inlined = append(of.Inlined, f+" (into "+callers+")")
				continue
			}
			src, gen, why := encodedIn(fs, of.Sources, f, encoded)
			if why != "" && !slices.Contains(notEncoded, why) {
				notEncoded = append(notEncoded, why)
			}
			if src != "" {
				of.Encoded = append(of.Encoded, f)
				note := fmt.Sprintf("%s is upstream's but for calls of %s", src, encodedList(gen))
				if !slices.Contains(of.EncodedBy, note) {
					of.EncodedBy = append(of.EncodedBy, note)
				}
				continue
			}
			if src, why := shiftOnly(fs, of.Sources, f, rw, shiftUnits); src != "" {
				of.Shifted = append(of.Shifted, f)
				continue
			} else if why != "" && !slices.Contains(notEncoded, why) {
				notEncoded = append(notEncoded, why)
			}
			of.Missing = append(of.Missing, f)
		}
		if hasOriginal {
			for _, f := range of.Rewritten {
				if !orig[objdiff.BaseName(f)] && !orig[lpname.Original(objdiff.BaseName(f))] {
					of.Extra = append(of.Extra, f)
				}
			}
		}
		total += len(of.Rewritten)
		if len(of.Missing) > 0 {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s: the upstream patch changes %s, the rewritten patch does not", k, strings.Join(of.Missing, ", ")))
			c.Details = append(c.Details, notEncoded...)
			notEncoded = nil
		}
		if len(of.Rewritten) > 0 || len(of.Original) > 0 {
			out = append(out, *of)
		}
	}
	c.Summary = fmt.Sprintf("%s changed in %s", plural(total, "function"), plural(len(out), "object"))
	if hasOriginal && c.OK {
		c.Summary += "; every function the upstream patch changes is changed by the rewritten patch"
		if n := encodedCount(out); n > 0 {
			c.Summary += fmt.Sprintf(" or, %s, left as the running kernel's where the rewritten source is upstream's but for calls of its own accessors", plural(n, "function"))
		}
		shifted := 0
		for _, o := range out {
			shifted += len(o.Shifted)
		}
		if shifted > 0 {
			c.Summary += fmt.Sprintf("; %s upstream changes only by layout shifts (the same code in the base and upstream units)", plural(shifted, "function"))
		}
	}
	return c, out
}

// objectsOf groups files of a patch by the object they build into.
func objectsOf(env *kbuild.Env, files []string) map[string][]string {
	out := map[string][]string{}
	for _, f := range files {
		if change.IsHeader(f) {
			users, _, _ := env.Includers(f)
			seen := map[string]bool{}
			for _, u := range users {
				o := env.ObjectOf(u)
				if o.Kind == kbuild.Vmlinux || o.Kind == kbuild.Module {
					if !seen[o.Name()] {
						seen[o.Name()] = true
						out[o.Name()] = append(out[o.Name()], f)
					}
				}
			}
			continue
		}
		o := env.ObjectOf(f)
		out[o.Name()] = append(out[o.Name()], f)
	}
	return out
}
