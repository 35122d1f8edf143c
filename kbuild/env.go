package kbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/tree"
)

// Env is a kernel tree together with its config and the means to compile
// its files exactly as kbuild does. The tree is never written: kbuild's
// generated files and kprewrite's own outputs live in an object tree that is
// either the user's build directory (read-only to kprewrite) or kprewrite's
// private work area.
type Env struct {
	Tree       *tree.Tree
	Config     *Config // nil when there is no config
	ConfigPath string
	Make       *Makefiles
	// Plain is set for trees without kbuild (kprewrite's miniature test
	// trees): commands are synthesised from the config.
	Plain bool
	// Work is kprewrite's private work area for this tree and config.
	Work string
	Log  io.Writer

	objTree  string // generated headers and .cmd files; "" until prepared
	buildSrc string // the source tree the build was made from (the tree, a private copy, or a sibling tree)
	ownObj   bool   // objTree is in the work area, so kprewrite may run make there
	ctx      context.Context
	jobs     int

	mu      sync.Mutex
	makeMu  sync.Mutex // one make at a time in this process (a file lock orders processes)
	fatal   error      // first failure of the environment met (see Failure)
	deps    *depIndex
	own     *Env // fallback private build when the user's build lacks an object
	textual *IncludeGraph
	failed  map[string]error               // source -> why it does not compile in the base tree (*NotCompilable; nil: it compiles)
	derived map[string][]string            // source -> its compiler arguments derived from a sibling's, not recorded by kbuild (see derivedArgs)
	incC    map[string]map[string][]string // directory -> .c file -> the .c files of that directory that #include it
	keyDefs map[string]map[string]string   // a source's module -> static key -> the module source beside it that defines it
}

// Options configure Open.
type Options struct {
	// CacheDir holds work areas; default $KPREWRITE_CACHE, else
	// $XDG_CACHE_HOME/kprewrite, else ~/.cache/kprewrite.
	CacheDir string
	// Log receives progress lines for slow steps (make prepare, compiles).
	Log io.Writer
	// Context stops every make and compiler run when it is canceled
	// (default: context.Background()).
	Context context.Context
	// Jobs is how many compiles (and make jobs) run at once; default
	// DefaultJobs().
	Jobs int
}

// DefaultJobs is the number of parallel jobs when none is given:
// $KPREWRITE_JOBS when it is a positive number, else the number of CPUs.
func DefaultJobs() int {
	var j int
	if _, err := fmt.Sscan(os.Getenv("KPREWRITE_JOBS"), &j); err == nil && j > 0 {
		return j
	}
	return maxInt(1, numCPU())
}

// Context returns the context that bounds the env's make and compiler runs.
func (e *Env) Context() context.Context {
	if e.ctx == nil {
		return context.Background()
	}
	return e.ctx
}

// Failure returns the first failure of the environment (a compiler or make
// that cannot run, the work area, a cancellation) that the Env met while
// learning commands or screening files, or nil. Callers may have turned
// that error into a refusal; a run must stop on it instead, because a failed
// compile is never evidence about a patch.
func (e *Env) Failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fatal == nil {
		if err := e.Context().Err(); err != nil {
			return err
		}
	}
	return e.fatal
}

// environment records err when it is a failure of the environment, and
// returns it.
func (e *Env) environment(err error) error {
	if kperr.IsEnvironment(err) {
		e.mu.Lock()
		if e.fatal == nil {
			e.fatal = err
		}
		e.mu.Unlock()
	}
	return err
}

// Jobs returns how many compiles run at once.
func (e *Env) Jobs() int {
	if e.jobs <= 0 {
		return DefaultJobs()
	}
	return e.jobs
}

// CheckWorkArea makes sure the work area can be created and written, so an
// unusable --cache stops the run before anything depends on a compile.
func (e *Env) CheckWorkArea() error {
	const hint = "the work area is not usable (give --cache a writable directory)"
	if err := os.MkdirAll(e.Work, 0o755); err != nil {
		return kperr.WorkAreaf(err, hint)
	}
	f, err := os.CreateTemp(e.Work, ".probe-*")
	if err != nil {
		return kperr.WorkAreaf(err, hint)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return kperr.WorkAreaf(err, hint)
	}
	e.removeStaleScratch(time.Now().Add(-staleScratch))
	return nil
}

// staleScratch is the age past which a run's scratch directory in the work
// area is a leftover: a run removes its own when it ends, even on SIGTERM,
// so only a killed one leaves it, and no run takes a day.
const staleScratch = 24 * time.Hour

// removeStaleScratch removes the scratch directories of earlier runs
// (rewrite-*, verify-*) not modified since before, best effort.
func (e *Env) removeStaleScratch(before time.Time) {
	for _, pat := range []string{"rewrite-*", "verify-*"} {
		dirs, _ := filepath.Glob(filepath.Join(e.Work, pat))
		for _, d := range dirs {
			if st, err := os.Stat(d); err == nil && st.IsDir() && st.ModTime().Before(before) {
				os.RemoveAll(d)
			}
		}
	}
}

// DefaultCacheDir returns the cache directory kprewrite uses by default.
func DefaultCacheDir() string {
	if d := os.Getenv("KPREWRITE_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kprewrite")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "kprewrite")
	}
	return filepath.Join(os.TempDir(), "kprewrite-cache")
}

// Open opens a tree with a config. configPath "" means DIR/.config, which
// may be missing (then nothing config-dependent is known).
func Open(treeDir, configPath string, opt Options) (*Env, error) {
	t, err := tree.Open(treeDir)
	if err != nil {
		return nil, err
	}
	e := &Env{Tree: t, Log: opt.Log, buildSrc: t.Root(), ctx: opt.Context, jobs: opt.Jobs}
	if e.Log == nil {
		e.Log = io.Discard
	}
	explicit := configPath != ""
	if !explicit {
		configPath = filepath.Join(t.Root(), ".config")
	}
	if _, err := os.Stat(configPath); err == nil {
		cfg, err := ReadConfig(configPath)
		if err != nil {
			return nil, err
		}
		e.Config = cfg
		e.ConfigPath, _ = filepath.Abs(configPath)
	} else if explicit {
		return nil, fmt.Errorf("config %s: no such file (give the .config of the build you livepatch)", configPath)
	}
	e.Make = NewMakefiles(t, e.Config)
	e.Plain = !t.Exists("scripts/Makefile.build")
	cache := opt.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	h := sha256.New()
	h.Write([]byte(t.Root()))
	h.Write([]byte{0})
	if e.Config != nil {
		data, _ := os.ReadFile(e.ConfigPath)
		h.Write(data)
	}
	e.Work = filepath.Join(cache, "work", hex.EncodeToString(h.Sum(nil))[:16])
	if e.Config != nil && !e.Plain {
		dir := filepath.Dir(e.ConfigPath)
		if fileExists(filepath.Join(dir, "include", "generated", "autoconf.h")) {
			e.objTree = dir
			e.buildSrc = buildSource(dir, t.Root())
			if e.buildSrc != t.Root() {
				fmt.Fprintf(e.Log, "kprewrite: %s was built from %s; its commands are used on %s\n", dir, e.buildSrc, t.Root())
			}
		} else if fileExists(filepath.Join(e.Work, "obj", "include", "generated", "autoconf.h")) {
			e.adoptOwn()
		}
	}
	return e, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (e *Env) adoptOwn() {
	e.objTree = filepath.Join(e.Work, "obj")
	e.ownObj = true
	if src := filepath.Join(e.Work, "src"); fileExists(filepath.Join(src, "Makefile")) {
		e.buildSrc = src
	}
}

// buildSource returns the source tree an object tree was built from: the
// "source" link kbuild makes in an O= directory, else the tree itself.
func buildSource(objTree, tree string) string {
	if l, err := filepath.EvalSymlinks(filepath.Join(objTree, "source")); err == nil && fileExists(filepath.Join(l, "Makefile")) {
		return l
	}
	return tree
}

// ObjTree returns the object tree ("" when not prepared).
func (e *Env) ObjTree() string { return e.objTree }

// SrcRoot returns the source directory compiles read: always the tree.
// (Commands of a build made from another directory are redirected to it.)
func (e *Env) SrcRoot() string { return e.Tree.Root() }

// HasBuild reports whether a complete kernel build exists in the object
// tree, so that its .cmd files describe every object the config builds.
func (e *Env) HasBuild() bool {
	return e.objTree != "" && (fileExists(filepath.Join(e.objTree, "vmlinux")) || fileExists(filepath.Join(e.objTree, "vmlinux.o")))
}

// Prepare makes sure files can be compiled: for a kbuild tree without a
// prepared build it runs "make olddefconfig prepare" in kprewrite's work
// area (about a minute), reusing it on later runs.
func (e *Env) Prepare() error {
	if e.Config == nil {
		return kperr.BadInputf("no .config: give --config (the config of the kernel you livepatch)")
	}
	if err := e.Context().Err(); err != nil {
		return err
	}
	if e.Plain {
		return e.preparePlain()
	}
	e.makeMu.Lock()
	defer e.makeMu.Unlock()
	if e.objTree != "" {
		return nil
	}
	unlock, err := e.lockWork()
	if err != nil {
		return err
	}
	defer unlock()
	obj := filepath.Join(e.Work, "obj")
	if err := os.MkdirAll(obj, 0o755); err != nil {
		return kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
	}
	src := e.Tree.Root()
	if !e.treeIsClean() {
		// make O= refuses a tree that was configured in place: build from a
		// private copy instead (the user's tree is never touched).
		src = filepath.Join(e.Work, "src")
		if !fileExists(filepath.Join(src, "Makefile")) {
			fmt.Fprintf(e.Log, "kprewrite: the tree is configured in place; copying it to %s\n", src)
			os.RemoveAll(src)
			// copy beside, then rename: a stopped copy never passes for a tree
			tmp := src + ".tmp"
			os.RemoveAll(tmp)
			if out, err := exec.CommandContext(e.Context(), "cp", "-a", e.Tree.Root(), tmp).CombinedOutput(); err != nil {
				os.RemoveAll(tmp)
				if cerr := e.Context().Err(); cerr != nil {
					return cerr
				}
				return kperr.WorkAreaf(nil, "copying the tree into the work area: %v: %s", err, oneLine(lastLines(out, 1)))
			}
			for _, junk := range []string{".config", "include/config", "include/generated", "arch/x86/include/generated"} {
				os.RemoveAll(filepath.Join(tmp, junk))
			}
			if err := os.Rename(tmp, src); err != nil {
				return kperr.WorkAreaf(err, "the work area is not usable")
			}
		}
	}
	cfgData, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(obj, ".config"), cfgData, 0o644); err != nil {
		return kperr.WorkAreaf(err, "the work area is not usable")
	}
	fmt.Fprintf(e.Log, "kprewrite: preparing a build of the tree in %s (make prepare, about a minute; reused later)\n", obj)
	defer progress.From(e.Context()).Start("prepare", 0).End()
	for _, target := range [][]string{{"olddefconfig"}, {"prepare"}} {
		if err := e.runMake(src, obj, target...); err != nil {
			return err
		}
	}
	e.objTree = obj
	e.ownObj = true
	e.buildSrc = src
	return nil
}

func (e *Env) treeIsClean() bool {
	return !e.Tree.Exists(".config") && !e.Tree.IsDir("include/config")
}

func (e *Env) runMake(src, obj string, targets ...string) error {
	args := append([]string{"-C", src, "O=" + obj, fmt.Sprintf("-j%d", e.Jobs())}, targets...)
	cmd := exec.CommandContext(e.Context(), "make", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C") // ASCII quotes in gcc's messages
	KillGroupOnCancel(cmd)
	out, err := cmd.CombinedOutput()
	if cerr := e.Context().Err(); cerr != nil {
		return cerr
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return kperr.Toolchainf(err, "cannot run make")
		}
		me := &makeError{targets: targets, err: err, out: out}
		return kperr.Makef(me, "%s", me.Error())
	}
	return nil
}

// makeError is a failed make run, with its output.
type makeError struct {
	targets []string
	err     error
	out     []byte
}

func (e *makeError) Error() string {
	return fmt.Sprintf("make %s failed: %v\n%s", strings.Join(e.targets, " "), e.err, lastLines(e.out, 15))
}

// KillGroupOnCancel makes cmd run in its own process group and kills the
// whole group (make's and gcc's children too) when its context is
// canceled, so a canceled run stops promptly.
func KillGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
}

// lockWork takes the work area's lock, which orders make runs of
// concurrent kprewrite processes sharing the work area.
func (e *Env) lockWork() (func(), error) {
	if err := os.MkdirAll(e.Work, 0o755); err != nil {
		return nil, kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
	}
	f, err := os.OpenFile(filepath.Join(e.Work, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, kperr.WorkAreaf(err, "cannot lock the work area")
	}
	return func() { f.Close() }, nil
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// preparePlain writes the generated autoconf header for a tree without kbuild.
//
// Concurrent runs share the file (the work area is named after the tree
// and the config, so they all want the same content): it is written only
// when its content differs, through a temporary file and a rename, so a
// compile never reads a partial header.
func (e *Env) preparePlain() error {
	obj := filepath.Join(e.Work, "plain")
	gen := filepath.Join(obj, "include", "generated")
	if err := os.MkdirAll(gen, 0o755); err != nil {
		return kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
	}
	want := e.Config.Autoconf()
	p := filepath.Join(gen, "autoconf.h")
	if have, err := os.ReadFile(p); err != nil || !bytes.Equal(have, want) {
		if err := fsutil.WriteFileAtomic(p, want, 0o644); err != nil {
			return kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
		}
	}
	e.objTree = obj
	e.ownObj = true
	return nil
}

// Command is one compiler invocation for one source file.
type Command struct {
	Dir    string   // working directory
	Args   []string // the compiler and its arguments
	Source string   // tree-relative source path
	SrcArg int      // index in Args of the source path
	OutArg int      // index in Args of the output path (after "-o"), -1 if none
	Module string   // KBUILD_MODNAME, "" if not known
	IsMod  bool     // compiled with -DMODULE (the object goes into a module)
	srcAbs string
}

// Object returns the object (vmlinux or a module) the command's file goes into.
func (c *Command) Object() Object {
	if c.IsMod {
		return Object{Kind: Module, Module: c.Module, Path: path.Join(path.Dir(c.Source), c.Module), Why: "compiled with -DMODULE"}
	}
	return Object{Kind: Vmlinux, Why: "compiled without -DMODULE"}
}

// CompileCommand returns the exact command kbuild uses for the source file
// rel (a .c file). Without a recorded command it compiles the file once in
// kprewrite's work area to learn it.
func (e *Env) CompileCommand(rel string) (*Command, error) {
	if err := e.Prepare(); err != nil {
		return nil, err
	}
	if e.Plain {
		if unit := e.includedIn(rel); unit != "" {
			return e.CompileCommand(unit)
		}
		return e.plainCommand(rel)
	}
	obj := strings.TrimSuffix(rel, path.Ext(rel)) + ".o"
	cf, err := ReadCmdFile(cmdPath(e.objTree, obj))
	if err != nil {
		// without kbuild's record only: a recorded object is one of its own
		if unit := e.includedIn(rel); unit != "" {
			return e.CompileCommand(unit)
		}
		if !e.ownObj {
			own, err := e.ownEnv()
			if err != nil {
				return nil, err
			}
			return own.CompileCommand(rel)
		}
		e.mu.Lock()
		failed := e.failed[rel]
		e.mu.Unlock()
		if failed != nil {
			return nil, failed
		}
		if args := e.derivedArgs(rel); args != nil {
			return e.commandFromArgs(slices.Clone(args), rel)
		}
		cf, err = e.learnCommand(rel, obj)
		if err != nil {
			return nil, err
		}
	}
	return e.commandFrom(cf, rel)
}

// includedIn is the .c file that #includes rel when rel is compiled only
// as part of it (Object.IncludedIn), or "".
func (e *Env) includedIn(rel string) string {
	return e.ObjectOf(rel).IncludedIn
}

// Unit returns the file the compiler is given to compile rel: rel itself,
// or, for a .c file compiled only as part of another that #includes it
// (kernel/sched/rt.c in build_policy.c), that one (CompileCommand(rel) is
// its command). Its diagnostics name rel's lines as rel's, so a question
// about rel is asked by compiling the unit.
func (e *Env) Unit(rel string) string {
	if !strings.HasSuffix(rel, ".c") {
		return rel
	}
	if !e.Plain && e.objTree != "" && fileExists(cmdPath(e.objTree, strings.TrimSuffix(rel, ".c")+".o")) {
		return rel // an object of its own in kbuild's record
	}
	if unit := e.includedIn(rel); unit != "" {
		return e.Unit(unit)
	}
	return rel
}

// Learn makes kbuild record the commands of the source files rels that
// have no record yet, with one make run for all of them (kbuild compiles
// them in parallel, and -k keeps it going past a file that fails): a make
// run costs its fixed steps (objtool, syscall checks) once instead of once
// per file. Files it could not build are left to CompileCommand, which
// tries each alone and says why it fails; so Learn only reports an error
// when the tree cannot be prepared.
func (e *Env) Learn(rels []string) error {
	if e.Plain || e.Config == nil {
		return nil
	}
	if err := e.Prepare(); err != nil {
		return err
	}
	var todo []string
	for _, rel := range rels {
		if !strings.HasSuffix(rel, ".c") || !e.Tree.Exists(rel) {
			continue
		}
		rel = e.Unit(rel)
		if slices.Contains(todo, rel) {
			continue
		}
		if fileExists(cmdPath(e.objTree, strings.TrimSuffix(rel, ".c")+".o")) || e.ownObj && e.derivedArgs(rel) != nil {
			continue
		}
		e.mu.Lock()
		_, failed := e.failed[rel]
		e.mu.Unlock()
		if !failed {
			todo = append(todo, rel)
		}
	}
	if len(todo) < 2 {
		return nil // CompileCommand learns a single file as cheaply
	}
	if !e.ownObj {
		own, err := e.ownEnv()
		if err != nil {
			return err
		}
		return own.Learn(todo)
	}
	objs := []string{"-k"}
	for _, rel := range todo {
		objs = append(objs, e.makeTarget(rel))
	}
	fmt.Fprintf(e.Log, "kprewrite: compiling %d files once to learn their kbuild commands\n", len(todo))
	e.makeMu.Lock()
	defer e.makeMu.Unlock()
	step := progress.From(e.Context()).Start("learn", len(todo))
	defer func() {
		for _, rel := range todo {
			step.Done(rel, false)
		}
		step.End()
	}()
	unlock, err := e.lockWork()
	if err != nil {
		return err
	}
	defer unlock()
	// a failed file is classified by CompileCommand; only the environment
	// failing is an error here
	if err := e.runMake(e.buildSrc, e.objTree, objs...); kperr.IsEnvironment(err) {
		return e.environment(err)
	}
	return nil
}

// makeTarget returns the object kbuild builds for the source file rel, as
// make must be asked for it: the plain path, or the path through the
// directory whose Makefile lists it (Object.Target), so that it compiles
// with that directory's flags. Only make needs it: kbuild records the
// command in the object's directory either way
// (amdgpu/../display/dc/bios/.bios_parser.o.cmd is
// display/dc/bios/.bios_parser.o.cmd), so reading a record uses the
// plain path and asks no Makefile.
func (e *Env) makeTarget(rel string) string {
	if e.Make != nil && e.Config != nil {
		if t := e.Make.ObjectOf(rel).Target; t != "" {
			return t
		}
	}
	return strings.TrimSuffix(rel, path.Ext(rel)) + ".o"
}

// learnCommand compiles obj once in the work area's object tree (under the
// work area's lock: concurrent runs share it) and reads kbuild's record.
func (e *Env) learnCommand(rel, obj string) (*CmdFile, error) {
	e.makeMu.Lock()
	defer e.makeMu.Unlock()
	unlock, err := e.lockWork()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if cf, err := ReadCmdFile(cmdPath(e.objTree, obj)); err == nil {
		return cf, nil // another run learned it meanwhile
	}
	fmt.Fprintf(e.Log, "kprewrite: compiling %s once to learn its kbuild command\n", rel)
	step := progress.From(e.Context()).Start("learn", 1)
	defer func() { step.Done(rel, false); step.End() }()
	if err := e.runMake(e.buildSrc, e.objTree, e.makeTarget(rel)); err != nil {
		if kperr.IsEnvironment(err) {
			return nil, e.environment(err)
		}
		if nc := notCompilable(rel, err, e.Tree.Root(), e.buildSrc, e.objTree); nc != nil {
			e.mu.Lock()
			if e.failed == nil {
				e.failed = map[string]error{}
			}
			e.failed[rel] = nc
			e.mu.Unlock()
			return nil, nc
		}
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	cf, err := ReadCmdFile(cmdPath(e.objTree, obj))
	if err != nil {
		return nil, fmt.Errorf("%s: kbuild left no command record: %v", rel, err)
	}
	return cf, nil
}

// ownEnv returns an Env on the same tree and config with a private object
// tree, for objects the user's build does not have.
func (e *Env) ownEnv() (*Env, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.own != nil {
		return e.own, nil
	}
	o := &Env{Tree: e.Tree, Config: e.Config, ConfigPath: e.ConfigPath, Make: e.Make, Work: e.Work, Log: e.Log, buildSrc: e.Tree.Root(), ctx: e.ctx, jobs: e.jobs}
	if fileExists(filepath.Join(e.Work, "obj", "include", "generated", "autoconf.h")) {
		o.adoptOwn()
	}
	if err := o.Prepare(); err != nil {
		return nil, err
	}
	e.own = o
	return o, nil
}

func (e *Env) commandFrom(cf *CmdFile, rel string) (*Command, error) {
	args, err := cf.CompilerArgs()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read its kbuild command: %v", rel, err)
	}
	return e.commandFromArgs(args, rel)
}

// commandFromArgs makes the Command of rel from kbuild's compiler
// arguments for it.
func (e *Env) commandFromArgs(args []string, rel string) (*Command, error) {
	if root := e.Tree.Root(); e.buildSrc != root {
		// The build was made from another copy of the source: compile ours.
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, e.buildSrc+"/", root+"/")
			if strings.HasSuffix(args[i], "="+e.buildSrc) || args[i] == e.buildSrc {
				args[i] = strings.TrimSuffix(args[i], e.buildSrc) + root
			}
		}
	}
	c := &Command{Dir: e.objTree, Source: rel, SrcArg: -1, OutArg: -1}
	for i, a := range args {
		switch {
		case a == "-o" && i+1 < len(args):
			c.OutArg = i + 1
		case a == "-DMODULE":
			c.IsMod = true
		case strings.HasPrefix(a, "-DKBUILD_MODNAME="):
			c.Module = strings.Trim(strings.TrimPrefix(a, "-DKBUILD_MODNAME="), `"'`)
		}
		if !strings.HasPrefix(a, "-") && i > 0 && (strings.HasSuffix(a, "/"+rel) || a == rel || strings.HasSuffix(filepath.Clean(a), "/"+rel)) {
			c.SrcArg = i
		}
	}
	if c.SrcArg < 0 {
		return nil, fmt.Errorf("%s: its kbuild command does not name the source file", rel)
	}
	// Drop dependency-file generation: it would write into the object tree.
	var kept []string
	for i, a := range args {
		if strings.HasPrefix(a, "-Wp,-MMD") || strings.HasPrefix(a, "-Wp,-MD") {
			if i < c.SrcArg {
				c.SrcArg--
			}
			if i < c.OutArg {
				c.OutArg--
			}
			continue
		}
		kept = append(kept, a)
	}
	c.Args = kept
	c.srcAbs = kept[c.SrcArg]
	if !filepath.IsAbs(c.srcAbs) {
		c.srcAbs = filepath.Join(c.Dir, c.srcAbs)
	}
	return c, nil
}

// plainCommand synthesises a command for a tree without kbuild.
func (e *Env) plainCommand(rel string) (*Command, error) {
	o := e.Make.ObjectOf(rel)
	root := e.Tree.Root()
	arch := e.Make.SrcArch()
	args := []string{"gcc", "-nostdinc",
		"-I" + filepath.Join(root, "arch", arch, "include"),
		"-I" + filepath.Join(root, "include"),
		"-I" + filepath.Join(e.objTree, "include"),
		"-include", filepath.Join(e.objTree, "include", "generated", "autoconf.h"),
		"-D__KERNEL__", "-std=gnu11", "-O2", "-g", "-fno-common", "-fno-strict-aliasing", "-Wall",
		"-Werror=implicit-function-declaration", "-Werror=implicit-int", "-Werror=return-type", "-Werror=strict-prototypes",
		"-Wno-unused-function", "-I" + filepath.Join(root, path.Dir(rel)),
	}
	if e.Config.Tristate("DYNAMIC_FTRACE") == "y" && arch == "x86" {
		// kbuild's CC_FLAGS_FTRACE: every function not marked notrace
		// starts with a __fentry__ call, the hook livepatches use
		args = append(args, "-pg", "-mfentry", "-mrecord-mcount")
	}
	c := &Command{Dir: root, Source: rel}
	if o.Kind == Module {
		args = append(args, "-DMODULE", "-DKBUILD_MODNAME=\""+o.Module+"\"")
		c.IsMod = true
		c.Module = o.Module
	} else {
		base := strings.TrimSuffix(path.Base(rel), path.Ext(rel))
		args = append(args, "-DKBUILD_MODNAME=\""+base+"\"")
	}
	args = append(args, "-c", "-o", filepath.Join(e.Work, "plain", strings.TrimSuffix(rel, ".c")+".o"), filepath.Join(root, rel))
	c.Args = args
	c.OutArg = len(args) - 2
	c.SrcArg = len(args) - 1
	c.srcAbs = args[c.SrcArg]
	return c, nil
}

// depIndex is the header-to-object map read from a build's .cmd files.
type depIndex struct {
	byDep  map[string][]string // tree-relative header -> tree-relative sources
	srcCmd map[string]string   // tree-relative source -> .cmd path
	// exported copies, for the result cache's encoding
	ByDep  map[string][]string
	SrcCmd map[string]string
}

// buildDeps reads every object's .cmd file in the object tree.
func (e *Env) buildDeps() *depIndex {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deps != nil {
		return e.deps
	}
	idx := &depIndex{byDep: map[string][]string{}, srcCmd: map[string]string{}}
	e.deps = idx
	defer progress.From(e.Context()).Start("deps", 0).End()
	if e.objTree == "" {
		return idx
	}
	root := e.buildSrc
	relOf := func(p string) string {
		if filepath.IsAbs(p) {
			if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
				return filepath.ToSlash(r)
			}
			return ""
		}
		if e.objTree == root {
			return filepath.ToSlash(filepath.Clean(p))
		}
		return "" // relative to an O= tree: a generated file
	}
	var files []string
	filepath.WalkDir(e.objTree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "source" || ((n == "tools" || n == "klp-tmp") && filepath.Dir(p) == e.objTree) { // klp-tmp: klp-build's copies
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".o.cmd") && !strings.HasSuffix(n, ".mod.o.cmd") {
			files = append(files, p)
		}
		return nil
	})
	// The result cache keeps the index, keyed by every record's name, size
	// and modification time (a rebuilt object rewrites its record).
	rc := rcache.From(e.Context())
	var key string
	if rc != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\x00%s\x00%s\n", e.objTree, e.buildSrc, e.Tree.Root())
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "%s %d %d\n", f, st.Size(), st.ModTime().UnixNano())
		}
		key = rc.Key([]byte("kbuild-deps"), []byte(b.String()))
		var got depIndex
		if rc.LookupValue(key, &got) && got.ByDep != nil && got.SrcCmd != nil {
			idx.byDep, idx.srcCmd = got.ByDep, got.SrcCmd
			return idx
		}
		defer func() { rc.StoreValue(key, &depIndex{ByDep: idx.byDep, SrcCmd: idx.srcCmd}) }()
	}
	type res struct {
		cmd  string
		src  string
		deps []string
	}
	out := make([]res, len(files))
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < e.Jobs(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				cf, err := ReadCmdFile(files[i])
				if err != nil || cf.Source == "" {
					continue
				}
				r := res{cmd: files[i], src: relOf(cf.Source)}
				if r.src == "" || !strings.HasSuffix(r.src, ".c") {
					continue
				}
				for _, d := range cf.Deps {
					if rd := relOf(d); rd != "" && rd != r.src {
						r.deps = append(r.deps, rd)
					}
				}
				out[i] = r
			}
		}()
	}
	for i := range files {
		ch <- i
	}
	close(ch)
	wg.Wait()
	for _, r := range out {
		if r.src == "" {
			continue
		}
		idx.srcCmd[r.src] = r.cmd
		for _, d := range r.deps {
			idx.byDep[d] = append(idx.byDep[d], r.src)
		}
	}
	for k := range idx.byDep {
		sort.Strings(idx.byDep[k])
	}
	return idx
}

// Includers returns the .c files that include the header rel, directly or
// through other headers, and how that was found. With a complete build the
// answer comes from kbuild's dependency records and lists exactly the files
// the config builds; otherwise from a textual #include graph over all files.
func (e *Env) Includers(rel string) (files []string, method string, err error) {
	if e.HasBuild() {
		idx := e.buildDeps()
		return append([]string(nil), idx.byDep[rel]...), "kbuild dependency records of the build in " + e.objTree, nil
	}
	g, err := e.IncludeGraph()
	if err != nil {
		return nil, "", err
	}
	return g.Includers(rel), "textual #include graph of the whole tree (no complete build: files the config does not build are included)", nil
}

// IncludeGraph returns the textual include graph of the tree, built once.
func (e *Env) IncludeGraph() (*IncludeGraph, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.textual != nil {
		return e.textual, nil
	}
	step := progress.From(e.Context()).Start("includes", 0)
	defer step.End()
	root, arch := e.Tree.Root(), e.Make.SrcArch()
	files, err := listSources(e.Context(), root, arch)
	if err != nil {
		return nil, err
	}
	// The result cache keeps the graph, keyed by every source file's name,
	// size and modification time: reading the whole tree again costs tens
	// of seconds a run, listing it about one. Without a result cache
	// (--no-result-cache) the work area keeps it under the same key: the
	// graph is a fact of the tree, not a compile result.
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\n", includeGraphVersion, root, arch)
	for _, f := range files {
		fmt.Fprintf(&b, "%s %d %d\n", f.rel, f.size, f.mtime)
	}
	rc := rcache.From(e.Context())
	var key, kept string
	if rc != nil {
		key = rc.Key([]byte("include-graph"), []byte(b.String()))
		var by map[string][]string
		if rc.LookupValue(key, &by) && by != nil {
			e.textual = &IncludeGraph{includedBy: by}
			return e.textual, nil
		}
	} else if e.Work != "" {
		sum := sha256.Sum256([]byte(b.String()))
		kept = filepath.Join(e.Work, fmt.Sprintf("include-graph-%x.gob", sum[:12]))
		if data, err := os.ReadFile(kept); err == nil {
			if g := decodeGraph(data); g != nil {
				e.textual = g
				return g, nil
			}
		}
	}
	g, err := scanIncludes(e.Context(), root, arch, files)
	if err != nil {
		return nil, err
	}
	var enc bytes.Buffer
	switch {
	case rc != nil:
		rc.StoreValue(key, g.includedBy)
	case kept != "" && gob.NewEncoder(&enc).Encode(g.includedBy) == nil:
		// best effort: a work area that cannot keep it costs the next run the scan
		if os.MkdirAll(e.Work, 0o755) == nil {
			_ = fsutil.WriteFileAtomic(kept, enc.Bytes(), 0o644)
		}
	}
	e.textual = g
	return g, nil
}

// decodeGraph reads a kept include graph, or nil when it does not decode.
func decodeGraph(data []byte) *IncludeGraph {
	var by map[string][]string
	if gob.NewDecoder(bytes.NewReader(data)).Decode(&by) != nil || by == nil {
		return nil
	}
	return &IncludeGraph{includedBy: by}
}

// ObjectOf returns the object a source file builds into: from kbuild's
// record of the file when one exists, otherwise from the Makefiles.
func (e *Env) ObjectOf(rel string) Object {
	if e.Config == nil {
		o := e.Make.ObjectOf(rel)
		if o.Kind != NotBuilt {
			o.Kind = UnknownObject
			o.Module = ""
			o.Why = "no .config: cannot tell vmlinux from module"
		}
		return o
	}
	if e.objTree != "" && !e.Plain {
		obj := strings.TrimSuffix(rel, path.Ext(rel)) + ".o"
		if data, err := os.ReadFile(cmdPath(e.objTree, obj)); err == nil && bytes.Contains(data, []byte("KBUILD_MODNAME")) {
			if cf, err := ParseCmdFile(string(data)); err == nil {
				if c, err := e.commandFrom(cf, rel); err == nil {
					o := c.Object()
					if mo := e.Make.ObjectOf(rel); mo.Kind == Module && o.Kind == Module {
						o.Path = mo.Path
					}
					o.Why = "kbuild's record of the build (" + o.Why + ")"
					return o
				}
			}
		}
	}
	o := e.Make.ObjectOf(rel)
	if (o.Kind == NotBuilt || o.Kind == UnknownObject) && path.Ext(rel) == ".c" {
		// kernel/sched/rt.c is no object of its own: build_policy.c
		// #includes it, and its code is built wherever that is. A file
		// several .c files #include (drivers/net/wan/hd64572.c, in
		// pc300too.c and pci200syn.c) is built in each the config builds.
		var built []string
		for _, unit := range e.includingUnits(rel) {
			if uo := e.ObjectOf(unit); uo.Kind == Vmlinux || uo.Kind == Module {
				built = append(built, unit)
			}
		}
		if len(built) > 0 {
			uo := e.ObjectOf(built[0])
			uo.IncludedIn, uo.AlsoIn = built[0], built[1:]
			uo.Why = fmt.Sprintf("compiled as part of %s, which #includes it (%s)", strings.Join(built, ", "), uo.Why)
			return uo
		}
	}
	return o
}

// withIncludedC returns files with the .c files each of them #includes
// (from the same directory, see includingUnits) added, sorted.
func (e *Env) withIncludedC(files []string) []string {
	out := slices.Clone(files)
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	for _, f := range files {
		if path.Ext(f) != ".c" {
			continue
		}
		for inc := range e.cIncludes(path.Dir(f)) {
			if have[inc] {
				continue
			}
			for _, chain := range e.includerChains(inc) {
				if slices.Contains(chain, f) {
					have[inc] = true
					out = append(out, inc)
					break
				}
			}
		}
	}
	if len(out) > len(files) {
		sort.Strings(out)
	}
	return out
}

// includingUnits returns the .c files of rel's directory that #include
// rel, directly or through other included .c files, and that no .c file
// includes (the units the compiler is given), in name order.
func (e *Env) includingUnits(rel string) []string {
	var out []string
	for _, chain := range e.includerChains(rel) {
		if top := chain[len(chain)-1]; !slices.Contains(out, top) {
			out = append(out, top)
		}
	}
	sort.Strings(out)
	return out
}

// UnitPosition returns where the compiler reads rel in its unit: the byte
// offsets of the #include lines that bring it in, the unit's first (nil
// for a file compiled on its own). slices.Compare of two files' positions
// orders the files of one unit as the compiler reads them: a definition
// the one read first holds is seen by the others.
func (e *Env) UnitPosition(rel string) []int {
	unit := e.Unit(rel)
	if unit == rel {
		return nil
	}
	for _, chain := range e.includerChains(rel) {
		if chain[len(chain)-1] != unit {
			continue
		}
		var pos []int
		child := rel
		for _, parent := range chain {
			off := -1
			if data, err := e.Tree.ReadFile(parent); err == nil {
				for _, m := range includeRE.FindAllSubmatchIndex(data, -1) {
					if data[m[2]] == '"' && path.Join(path.Dir(parent), string(data[m[4]:m[5]])) == child {
						off = m[0]
						break
					}
				}
			}
			pos = append([]int{off}, pos...)
			child = parent
		}
		return pos
	}
	return nil
}

// includerChains returns, for each way rel is #included, the .c files
// that bring it in: the one that names it, the one that includes that
// one, and so on to a file no other includes (at most 9 deep: a guard
// against an include cycle).
func (e *Env) includerChains(rel string) [][]string {
	byFile := e.cIncludes(path.Dir(rel))
	var out [][]string
	var walk func(f string, chain []string)
	walk = func(f string, chain []string) {
		parents := byFile[f]
		if len(parents) == 0 || len(chain) >= 9 {
			if len(chain) > 0 {
				out = append(out, slices.Clone(chain))
			}
			return
		}
		for _, p := range parents {
			if p != rel && !slices.Contains(chain, p) {
				walk(p, append(chain, p))
			}
		}
	}
	walk(rel, nil)
	return out
}

// cIncludes returns, for the .c files of dir that other .c files of dir
// #include, those files (in name order). The directory is read once.
func (e *Env) cIncludes(dir string) map[string][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if byFile, ok := e.incC[dir]; ok {
		return byFile
	}
	byFile := map[string][]string{}
	ents, _ := os.ReadDir(filepath.Join(e.Tree.Root(), filepath.FromSlash(dir)))
	for _, ent := range ents { // in name order
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), ".c") {
			continue
		}
		f := path.Join(dir, ent.Name())
		data, err := e.Tree.ReadFile(f)
		if err != nil || !bytes.Contains(data, []byte(".c\"")) {
			continue
		}
		for _, m := range includeRE.FindAllSubmatch(data, -1) {
			if m[1][0] != '"' || !bytes.HasSuffix(m[2], []byte(".c")) {
				continue
			}
			inc := path.Join(dir, string(m[2]))
			if inc != f && !slices.Contains(byFile[inc], f) {
				byFile[inc] = append(byFile[inc], f)
			}
		}
	}
	if e.incC == nil {
		e.incC = map[string]map[string][]string{}
	}
	e.incC[dir] = byFile
	return byFile
}

// ModuleSources lists the .c files of file's directory that build into the
// same object as file (the sources of its module, or vmlinux's there),
// where kbuild modules keep them; sorted. Composite modules that list
// sources of other directories are seen only in file's.
func (e *Env) ModuleSources(file string) []string {
	o := e.ObjectOf(file)
	dir := path.Dir(file)
	abs, err := e.Tree.Abs(dir)
	if err != nil {
		return nil
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return nil
	}
	var out []string
	for _, ent := range ents {
		rel := path.Join(dir, ent.Name())
		if path.Ext(rel) == ".c" && e.ObjectOf(rel).Name() == o.Name() {
			out = append(out, rel)
		}
	}
	return out
}
