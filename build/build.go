// Package build compiles chosen source files of a tree variant (the tree
// with some files replaced) with kbuild's exact command for each file, into
// a private directory. The changed files are written to an overlay directory
// whose include paths come before the tree's, so neither the tree nor the
// user's build directory is ever written.
//
// Every variant is compiled the same way (the source file itself is always
// copied into the variant's overlay, and __FILE__ is mapped back to the
// tree-relative path), so object code differs between variants only where
// their sources differ.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
)

// Variant is a named set of file contents layered over the tree.
type Variant struct {
	Name  string            // short name, also the directory name in the work area
	Files map[string][]byte // tree-relative path -> content (nil: deleted)
	// Append maps a source file to text appended to it in this variant only.
	Append map[string]string
}

// Options are extra compiler flags and the probes to add.
type Options struct {
	// Extra flags appended to kbuild's command.
	Extra []string
	// SyntaxOnly runs gcc -fsyntax-only (no object file).
	SyntaxOnly bool
	// Append maps a source file to text appended to it (in every variant):
	// kprewrite uses it for layout probes.
	Append map[string]string
	// MaxErrors caps the diagnostics kept per file (0: all).
	MaxErrors int
	// Preprocess runs gcc -E instead of compiling: Result.Preprocessed is
	// the unit, with line markers naming tree-relative paths.
	Preprocess bool
}

// Diagnostic is one gcc message, located in tree-relative terms.
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"` // "error", "warning", "note"
	Message  string `json:"message"`
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Col, d.Severity, d.Message)
}

// Result is the outcome of compiling one source file.
type Result struct {
	Source string // tree-relative source
	// Unit is the file the compiler was given: Source, or the .c file
	// that #includes it (kbuild.Env.Unit). Results of one unit share one
	// compile: its diagnostics and object are the whole unit's.
	Unit   string
	Object string // absolute path of the object file ("" with SyntaxOnly or on failure)
	Module string // module name, "" for vmlinux
	// Preprocessed is the gcc -E output (with Options.Preprocess); its
	// line markers name files tree-relatively where they are in the tree.
	Preprocessed []byte
	Failed       bool
	Diagnostics  []Diagnostic
}

// Compiler compiles files of variants into Dir. Its compiles share one pool
// of Jobs slots, also when several variants compile at once.
type Compiler struct {
	Env  *kbuild.Env
	Dir  string // work directory of this run
	Jobs int    // parallel compiles; 0: the env's setting
	// Glue says which livepatch glue headers compiles see besides the
	// tree's; the zero value gives kprewrite's bundled copies of all.
	Glue Glue

	once  sync.Once
	slots chan struct{}
}

func (c *Compiler) pool() chan struct{} {
	c.once.Do(func() {
		j := c.Jobs
		if j <= 0 {
			j = c.Env.Jobs()
		}
		c.slots = make(chan struct{}, j)
	})
	return c.slots
}

// overlayDir returns where a variant's files are written.
func (c *Compiler) overlayDir(v *Variant) string { return filepath.Join(c.Dir, v.Name, "src") }

// materialize writes a variant's files (and copies of the sources to
// compile) into its overlay directory.
func (c *Compiler) materialize(v *Variant, sources []string, opt Options) error {
	ovl := c.overlayDir(v)
	if err := os.RemoveAll(ovl); err != nil {
		return err
	}
	write := func(rel string, data []byte) error {
		p := filepath.Join(ovl, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	for rel, data := range v.Files {
		if data == nil {
			continue
		}
		if err := write(rel, data); err != nil {
			return kperr.WorkAreaf(err, "the work area is not usable")
		}
	}
	for _, s := range sources {
		data, ok := v.Files[s]
		if !ok {
			var err error
			data, err = c.Env.Tree.ReadFile(s)
			if err != nil {
				return err
			}
		}
		if extra, ok := opt.Append[s]; ok {
			data = append(append([]byte{}, data...), []byte(extra)...)
		}
		if extra, ok := v.Append[s]; ok {
			data = append(append([]byte{}, data...), []byte(extra)...)
		}
		if err := write(s, data); err != nil {
			return kperr.WorkAreaf(err, "the work area is not usable")
		}
	}
	return c.linkSiblings(ovl, v, sources)
}

// Compile compiles sources of variant v, in parallel. A compile that runs
// and fails gives a Result with Failed set and gcc's diagnostics: evidence
// about the sources. A compiler that cannot run, dies, or fails without a
// diagnostic gives an error (kperr.Toolchain): never evidence of anything.
func (c *Compiler) Compile(ctx context.Context, v *Variant, sources []string, opt Options) ([]*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A .c file compiled only as part of another that #includes it is
	// compiled as that unit (once for all its files asked for): its own
	// copy in the overlay, with what is appended to it, is what the
	// unit's quoted #include finds.
	units := make([]string, len(sources))
	var todo []string
	for i, s := range sources {
		units[i] = c.Env.Unit(s)
		if !slices.Contains(todo, units[i]) {
			todo = append(todo, units[i])
		}
	}
	copies := slices.Clone(sources)
	for _, u := range todo {
		if !slices.Contains(copies, u) {
			copies = append(copies, u)
		}
	}
	if err := c.materialize(v, copies, opt); err != nil {
		return nil, err
	}
	// Learn every command first: the files without a kbuild record are
	// learned by one make run for all of them (not one per file).
	if err := c.Env.Learn(todo); err != nil {
		return nil, err
	}
	cmds := make([]*kbuild.Command, len(todo))
	for i, s := range todo {
		cmd, err := c.Env.CompileCommand(s)
		if err != nil {
			return nil, err
		}
		cmds[i] = cmd
	}
	results := make([]*Result, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := c.pool()
	step := progress.From(ctx).Start(progress.NameOf(ctx, "compile"), len(todo))
	defer step.End()
	for i := range todo {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = kperr.FromPanic(r)
				}
			}()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			var cached bool
			results[i], cached, errs[i] = c.compileCached(ctx, v, cmds[i], opt)
			if errs[i] == nil {
				step.Done(todo[i], cached)
			}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if len(todo) == len(sources) {
		return results, nil
	}
	// one result per source asked for: the files of one unit share its
	// compile (Result.Unit says which)
	out := make([]*Result, len(sources))
	for i, s := range sources {
		cp := *results[slices.Index(todo, units[i])]
		cp.Source = s
		out[i] = &cp
	}
	return out, nil
}

// paths returns the overlay copy of cmd's source and the output file.
func (c *Compiler) paths(v *Variant, cmd *kbuild.Command, opt Options) (src, obj string) {
	ext := ".o"
	if opt.Preprocess {
		ext = ".i"
	}
	src = filepath.Join(c.overlayDir(v), filepath.FromSlash(cmd.Source))
	obj = filepath.Join(c.Dir, v.Name, "obj", strings.TrimSuffix(cmd.Source, filepath.Ext(cmd.Source))+ext)
	return src, obj
}

// compileOne compiles one source of a variant; with depFile set, gcc
// also writes the files it read there.
func (c *Compiler) compileOne(ctx context.Context, v *Variant, cmd *kbuild.Command, opt Options, depFile string) (*Result, error) {
	ovl := c.overlayDir(v)
	res := &Result{Source: cmd.Source, Unit: cmd.Source}
	if cmd.IsMod {
		res.Module = cmd.Module
	}
	src, obj := c.paths(v, cmd, opt)
	if err := os.MkdirAll(filepath.Dir(obj), 0o755); err != nil {
		return nil, kperr.WorkAreaf(err, "the work area is not usable")
	}
	args := c.rewriteArgs(cmd, ovl, src, obj, opt)
	if depFile != "" {
		args = append(args[:len(args)-1:len(args)-1], "-MD", "-MF", depFile, args[len(args)-1])
	}
	run := exec.CommandContext(ctx, args[0], args[1:]...)
	kbuild.KillGroupOnCancel(run)
	run.Dir = cmd.Dir
	run.Env = append(os.Environ(), "LC_ALL=C") // ASCII quotes in messages
	out, err := run.CombinedOutput()
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		if ferr := toolchainFailure(args[0], cmd.Source, string(out), err); ferr != nil {
			return nil, ferr
		}
		res.Failed = true
	}
	res.Diagnostics = parseDiagnostics(string(out), ovl, c.Env.SrcRoot(), c.Env.Tree.Root(), cmd.Dir, opt.MaxErrors)
	if res.Failed {
		return res, nil
	}
	switch {
	case opt.Preprocess:
		data, err := os.ReadFile(obj)
		if err != nil {
			return nil, kperr.Toolchainf(err, "the compiler %s succeeded on %s but wrote no output", args[0], cmd.Source)
		}
		res.Preprocessed = relativeMarkers(data, ovl, c.Env.SrcRoot(), c.Env.Tree.Root())
	case !opt.SyntaxOnly:
		if _, err := os.Stat(obj); err != nil {
			return nil, kperr.Toolchainf(err, "the compiler %s succeeded on %s but wrote no object", args[0], cmd.Source)
		}
		res.Object = obj
	}
	return res, nil
}

// envErrorRE matches gcc's messages about the machine rather than the
// source: a full disk, an output it cannot write or open, no memory.
var envErrorRE = regexp.MustCompile(`No space left on device|error writing to |cannot open output file|Cannot allocate memory|out of memory allocating|Disk quota exceeded|Read-only file system`)

// toolchainFailure tells a compile that ran and failed with at least one
// error diagnostic (nil: evidence about the source) from a compiler that
// could not run, died of a signal, or failed without saying where (an
// error: the environment is broken).
func toolchainFailure(compiler, source, out string, err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return kperr.Toolchainf(err, "cannot run the compiler %s (for %s): install it or fix PATH", compiler, source)
	}
	if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		return kperr.Toolchainf(nil, "the compiler %s was killed by signal %v compiling %s", compiler, st.Signal(), source)
	}
	// gcc reports a full disk or an unwritable output as an error at a
	// source line: that is the machine, not the source
	for _, l := range strings.Split(out, "\n") {
		if envErrorRE.MatchString(l) {
			return kperr.Toolchainf(nil, "the compiler %s could not work on %s: %s", compiler, source, strings.TrimSpace(l))
		}
	}
	for _, d := range parseDiagnostics(out, "", "", "", "/", 0) {
		if d.Severity == "error" {
			return nil
		}
	}
	why := lastLine(out)
	if why == "" {
		why = "no output"
	}
	return kperr.Toolchainf(nil, "the compiler %s failed on %s (%v) without an error diagnostic: %s", compiler, source, err, why)
}

// relativeMarkers rewrites the file names of gcc's line markers
// ("# 12 "/work/ovl/kernel/sys.c" 2") tree-relatively.
func relativeMarkers(data []byte, roots ...string) []byte {
	var b bytes.Buffer
	b.Grow(len(data))
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > 3 && line[0] == '#' && line[1] == ' ' {
			if q := bytes.IndexByte(line, '"'); q > 0 {
				if e := bytes.IndexByte(line[q+1:], '"'); e >= 0 {
					name := string(line[q+1 : q+1+e])
					for _, root := range roots {
						if rel, err := filepath.Rel(root, name); err == nil && filepath.IsAbs(name) && !strings.HasPrefix(rel, "..") {
							b.Write(line[:q+1])
							b.WriteString(filepath.ToSlash(rel))
							b.Write(line[q+1+e:])
							line = nil
							break
						}
					}
				}
			}
		}
		b.Write(line)
	}
	return b.Bytes()
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// rewriteArgs turns kbuild's command into one that reads the overlay first,
// writes obj, and adds the requested flags.
func (c *Compiler) rewriteArgs(cmd *kbuild.Command, ovl, src, obj string, opt Options) []string {
	srcRoot := c.Env.SrcRoot()
	var out []string
	overlayFor := func(dir string) string {
		abs := dir
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(cmd.Dir, dir)
		}
		rel, err := filepath.Rel(srcRoot, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			return ""
		}
		o := filepath.Join(ovl, rel)
		if st, err := os.Stat(o); err == nil && st.IsDir() {
			return o
		}
		return ""
	}
	args := cmd.Args
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case i == cmd.SrcArg:
			continue // added last
		case i == cmd.OutArg:
			out = append(out, obj)
			continue
		case a == "-I" && i+1 < len(args):
			if o := overlayFor(args[i+1]); o != "" {
				out = append(out, "-I", o)
			}
			out = append(out, a, args[i+1])
			i++
			continue
		case strings.HasPrefix(a, "-I") && len(a) > 2:
			if o := overlayFor(a[2:]); o != "" {
				out = append(out, "-I"+o)
			}
		case a == "-include" && i+1 < len(args):
			f := args[i+1]
			abs := f
			if !filepath.IsAbs(abs) {
				abs = filepath.Join(cmd.Dir, f)
			}
			if rel, err := filepath.Rel(srcRoot, abs); err == nil && !strings.HasPrefix(rel, "..") {
				if _, err := os.Stat(filepath.Join(ovl, rel)); err == nil {
					f = filepath.Join(ovl, rel)
				}
			}
			out = append(out, a, f)
			i++
			continue
		case opt.Preprocess && a == "-c":
			out = append(out, "-E")
			continue
		case opt.SyntaxOnly && (a == "-c"):
			out = append(out, "-fsyntax-only")
			continue
		case opt.SyntaxOnly && a == "-o" && i+1 < len(args):
			i++
			continue
		}
		out = append(out, a)
	}
	// Headers beside the source, for quoted includes: the overlay's first.
	// gcc searches -iquote directories before every -I one for a quoted
	// include from any file, so the tree's directory alone would hide a
	// changed header there from a file elsewhere that includes it by name
	// ("amdgpu_dm.h" from amd/amdgpu/amdgpu.h, for a source in
	// amd/display/amdgpu_dm/): the question asked would not be compiled.
	out = append(out, "-iquote", filepath.Join(ovl, filepath.Dir(cmd.Source)))
	out = append(out, "-iquote", filepath.Join(srcRoot, filepath.Dir(cmd.Source)))
	out = append(out, "-fmacro-prefix-map="+ovl+"/=")
	out = append(out, c.glueArgs()...)
	out = append(out, opt.Extra...)
	if opt.MaxErrors >= 0 {
		out = append(out, "-fmax-errors=0")
	}
	out = append(out, "-fdiagnostics-color=never", "-fno-diagnostics-show-caret", "-fdiagnostics-column-unit=byte")
	return append(out, src)
}

var diagRE = regexp.MustCompile(`^(.+?):(\d+):(?:(\d+):)? (error|warning|note|fatal error): (.*)$`)

// parseDiagnostics reads gcc's messages and names files tree-relatively.
func parseDiagnostics(out, ovl, srcRoot, treeRoot, cwd string, max int) []Diagnostic {
	var ds []Diagnostic
	errs, others := 0, 0
	for _, l := range strings.Split(out, "\n") {
		m := diagRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		file := m[1]
		if !filepath.IsAbs(file) {
			file = filepath.Join(cwd, file)
		}
		for _, root := range []string{ovl, srcRoot, treeRoot} {
			if rel, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(rel, "..") {
				file = filepath.ToSlash(rel)
				break
			}
		}
		var line, col int
		fmt.Sscan(m[2], &line)
		fmt.Sscan(m[3], &col)
		sev := m[4]
		if sev == "fatal error" {
			sev = "error"
		}
		// the cap counts errors and other diagnostics apart: warnings
		// before the first error must not push it out (a failed compile
		// with no error diagnostic reads as a clean one)
		if max > 0 {
			if sev == "error" && errs >= max || sev != "error" && others >= max {
				continue
			}
			if sev == "error" {
				errs++
			} else {
				others++
			}
		}
		ds = append(ds, Diagnostic{File: file, Line: line, Col: col, Severity: sev, Message: m[5]})
	}
	return ds
}

// Failed reports whether any of the compiles failed.
func Failed(rs []*Result) bool {
	for _, r := range rs {
		if r.Failed {
			return true
		}
	}
	return false
}

// Failures describes the failed compiles of rs: their error diagnostics,
// sorted, and "SOURCE: the compile failed" for one that kept none.
func Failures(rs []*Result) []string {
	var out []string
	for _, d := range Errors(rs) {
		out = append(out, d.String())
	}
	for _, r := range rs {
		if r.Failed && len(Errors([]*Result{r})) == 0 {
			out = append(out, r.Source+": the compile failed without an error diagnostic")
		}
	}
	return out
}

// FirstError returns the first error diagnostic of a failed compile, as
// gcc prints it, or a plain sentence when gcc printed none.
func (r *Result) FirstError() string {
	if es := Errors([]*Result{r}); len(es) > 0 {
		return es[0].String()
	}
	return "the compiler failed"
}

// Errors returns the error diagnostics of results, sorted.
func Errors(rs []*Result) []Diagnostic {
	var out []Diagnostic
	for _, r := range rs {
		for _, d := range r.Diagnostics {
			if d.Severity == "error" {
				out = append(out, d)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}
