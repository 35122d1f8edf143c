package kbuild

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/kprewrite/kprewrite/internal/kperr"
)

// HeaderUsers are the .c files that include a header, sorted by whether the
// config builds them. Only Built and Unknown files can carry a use of the
// header into the kernel the config describes.
type HeaderUsers struct {
	// Built are the files the config builds, into vmlinux or a module.
	Built []string
	// Unknown are files whose object kprewrite cannot tell: no config, or
	// Makefiles that use make constructs it does not evaluate.
	Unknown []string
	// NotBuilt are the files the config does not build.
	NotBuilt []string
	// Method says how the includers were found.
	Method string
}

// Candidates returns the files that may use the header under the config
// (Built and Unknown), sorted.
func (u *HeaderUsers) Candidates() []string {
	out := append(append([]string(nil), u.Built...), u.Unknown...)
	sortStrings(out)
	return out
}

// NoneBuilt reports whether the header is included only by files the
// config does not build (and by some: a header nothing includes, or whose
// includers kprewrite cannot decide, is not known to be unbuilt).
func (u *HeaderUsers) NoneBuilt() bool {
	return len(u.Built) == 0 && len(u.Unknown) == 0 && len(u.NotBuilt) > 0
}

// HeaderUsers returns the .c files that include the header rel, directly
// or through other headers, classified by whether the config builds them.
// With a complete build every includer comes from kbuild's records and is
// built; otherwise the textual #include graph is filtered by the Makefiles
// evaluated under the config, so a prepared but not built tree does not
// count files the config does not build.
func (e *Env) HeaderUsers(rel string) (*HeaderUsers, error) {
	files, method, err := e.Includers(rel)
	if err != nil {
		return nil, err
	}
	u := &HeaderUsers{Method: method}
	if e.HasBuild() {
		// kbuild records the unit (build_policy.c), not the .c files it
		// #includes (rt.c), which name what they use
		u.Built = e.withIncludedC(files)
		return u, nil
	}
	for _, f := range e.withIncludedC(files) {
		switch e.ObjectOf(f).Kind {
		case Vmlinux, Module:
			u.Built = append(u.Built, f)
		case NotBuilt:
			u.NotBuilt = append(u.NotBuilt, f)
		default:
			u.Unknown = append(u.Unknown, f)
		}
	}
	if e.Config != nil {
		u.Method = "textual #include graph, restricted to the files the Makefiles build under this config (no complete build)"
	}
	return u, nil
}

// NotCompilable is the error for a source file that does not compile in
// the base tree under the config (or for which kbuild has no rule): the
// file cannot be asked anything, and it is no evidence about anything else.
type NotCompilable struct {
	File   string // tree-relative source
	Reason string // the first compiler error, or kbuild's refusal
	// NoRule is set when kbuild has no rule to build the object under this
	// config: kbuild's own word that the config does not build it.
	NoRule bool
	// Units are set for a .c file several files the config builds
	// #include (Object.AlsoIn): each compiles it with macros of its own,
	// and the compiler's answer about one is no answer about the others.
	Units []string
}

func (e *NotCompilable) Error() string {
	if e.NoRule {
		return fmt.Sprintf("%s is not built under this config (kbuild has no rule for it)", e.File)
	}
	return fmt.Sprintf("%s does not compile in the base tree: %s", e.File, e.Reason)
}

// IsNotCompilable returns the *NotCompilable in err's chain, or nil.
func IsNotCompilable(err error) *NotCompilable {
	var nc *NotCompilable
	if errors.As(err, &nc) {
		return nc
	}
	return nil
}

var (
	compilerErrorRE = regexp.MustCompile(`(?m)^([^\s:]+):(\d+):(?:(\d+):)? (?:fatal error|error): (.*)$`)
	noRuleRE        = regexp.MustCompile(`No rule to make target '([^']+)'(, needed by '([^']+)')?`)
)

// notCompilable reads a failed make run or compile of rel: a compiler
// error or kbuild's "No rule to make target" for the object make it a
// *NotCompilable; anything else (no compiler, a crashed tool) is an
// environment failure, and nil is returned.
func notCompilable(rel string, err error, roots ...string) *NotCompilable {
	var out []byte
	var me *makeError
	var ce *compileError
	switch {
	case errors.As(err, &me):
		out = me.out
	case errors.As(err, &ce):
		out = ce.out
	default:
		return nil
	}
	if m := compilerErrorRE.FindSubmatch(out); m != nil {
		loc := string(m[1])
		for _, r := range roots {
			if r != "" && strings.HasPrefix(loc, r+"/") {
				loc = strings.TrimPrefix(loc, r+"/")
				break
			}
		}
		pos := loc + ":" + string(m[2])
		if len(m[3]) > 0 {
			pos += ":" + string(m[3])
		}
		return &NotCompilable{File: rel, Reason: pos + ": " + string(bytes.TrimSpace(m[4]))}
	}
	if m := noRuleRE.FindSubmatch(out); m != nil {
		obj := strings.TrimSuffix(rel, filepath.Ext(rel)) + ".o"
		if len(m[2]) == 0 && (string(m[1]) == obj || strings.HasSuffix(string(m[1]), "/"+obj)) {
			return &NotCompilable{File: rel, NoRule: true, Reason: "kbuild has no rule for " + obj}
		}
		return &NotCompilable{File: rel, Reason: string(m[0])}
	}
	return nil
}

// compileError is a failed compile of a file with its synthesised command.
type compileError struct {
	rel string
	err error
	out []byte
}

func (e *compileError) Error() string {
	return fmt.Sprintf("compiling %s: %v: %s", e.rel, e.err, lastLines(e.out, 5))
}

// Buildable checks that the source file rel compiles in the base tree
// under the config. It returns nil when it does (a complete build's
// record, or kbuild compiling it to learn its command, is the proof), a
// *NotCompilable when the file itself does not compile or kbuild does not
// build it, and any other error when the environment failed (no compiler,
// make prepare failing): then nothing kprewrite could compile is evidence,
// and the caller must stop.
func (e *Env) Buildable(rel string) error {
	return e.environment(e.buildable(rel))
}

func (e *Env) buildable(rel string) error {
	e.mu.Lock()
	err, done := e.failed[rel]
	e.mu.Unlock()
	if done {
		return err
	}
	if o := e.ObjectOf(rel); len(o.AlsoIn) > 0 {
		units := append([]string{o.IncludedIn}, o.AlsoIn...)
		return &NotCompilable{File: rel, Units: units, Reason: "it is compiled as part of " + strings.Join(units, ", ")}
	}
	c, err := e.CompileCommand(rel)
	if err != nil {
		return err
	}
	e.mu.Lock()
	derived := e.derived[rel] != nil
	e.mu.Unlock()
	if !e.Plain && !derived {
		return nil // kbuild compiled it to record the command
	}
	// A command synthesised for a tree without kbuild, or derived from a
	// sibling's, is no proof that the file compiles: compile it.
	var args []string
	for i := 0; i < len(c.Args); i++ {
		switch {
		case c.Args[i] == "-c":
			args = append(args, "-fsyntax-only")
		case c.Args[i] == "-o" && i+1 < len(c.Args):
			i++
		default:
			args = append(args, c.Args[i])
		}
	}
	cmd := exec.CommandContext(e.Context(), args[0], args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	KillGroupOnCancel(cmd)
	out, runErr := cmd.CombinedOutput()
	if cerr := e.Context().Err(); cerr != nil {
		return cerr
	}
	if runErr != nil {
		ce := &compileError{rel: rel, err: runErr, out: out}
		var ee *exec.ExitError
		switch nc := notCompilable(rel, ce, e.Tree.Root(), e.objTree); {
		case !errors.As(runErr, &ee):
			return kperr.Toolchainf(runErr, "cannot run the compiler %s (for %s): install it or fix PATH", args[0], rel)
		case ee.ProcessState != nil && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled():
			return kperr.Toolchainf(nil, "the compiler %s was killed by signal %v compiling %s", args[0], ee.ProcessState.Sys().(syscall.WaitStatus).Signal(), rel)
		case nc != nil:
			err = nc
		default:
			// failed without saying where: the compiler, not the file
			return kperr.Toolchainf(nil, "the compiler %s failed on %s (%v) without an error diagnostic: %s", args[0], rel, runErr, lastLines(out, 1))
		}
	}
	if derived && IsNotCompilable(err) != nil {
		// the sibling's command may not be all the file needs (a header
		// make generates for it first): ask make, which records its own
		obj := strings.TrimSuffix(rel, path.Ext(rel)) + ".o"
		if _, lerr := e.learnCommand(rel, obj); lerr != nil {
			return lerr // learnCommand remembers a file that does not compile
		}
		e.mu.Lock()
		delete(e.derived, rel)
		e.mu.Unlock()
		err = nil
	}
	e.mu.Lock()
	if e.failed == nil {
		e.failed = map[string]error{}
	}
	if err == nil || IsNotCompilable(err) != nil {
		e.failed[rel] = err // environment failures are not remembered
	}
	e.mu.Unlock()
	return err
}

// Screened is the outcome of Env.Screen.
type Screened struct {
	// Files compile in the base tree (or are new in the patch): the
	// compiler's answers about them are evidence.
	Files []string
	// NotBuiltHere do not compile in the base tree and nothing says the
	// config builds them (kbuild has no rule for them, or the Makefiles
	// cannot tell): out of scope, and their uses are unknown.
	NotBuiltHere []*NotCompilable
	// Broken do not compile in the base tree although the Makefiles say
	// the config builds them: an environment problem (or a kprewrite bug
	// in learning their command); their uses are unknown.
	Broken []*NotCompilable
}

// Screen checks that each file compiles in the base tree before the
// compiler is asked about it, learning kbuild's commands on the way (see
// Buildable). Files not in the base tree (new in the patch) are kept as
// they are. An error is returned only when the environment failed.
func (e *Env) Screen(files []string) (*Screened, error) {
	if err := e.Learn(files); err != nil {
		return nil, err
	}
	s := &Screened{}
	for _, f := range files {
		if !e.Tree.Exists(f) {
			s.Files = append(s.Files, f)
			continue
		}
		err := e.Buildable(f)
		nc := IsNotCompilable(err)
		switch {
		case err == nil:
			s.Files = append(s.Files, f)
		case nc == nil:
			return nil, err
		case nc.NoRule:
			s.NotBuiltHere = append(s.NotBuiltHere, nc)
		default:
			switch e.ObjectOf(f).Kind {
			case Vmlinux, Module:
				s.Broken = append(s.Broken, nc)
			default:
				s.NotBuiltHere = append(s.NotBuiltHere, nc)
			}
		}
	}
	return s, nil
}

// BrokenError returns an error naming the first file the config builds
// that does not compile in the base tree, or nil when there is none.
func (s *Screened) BrokenError(e *Env) error {
	if len(s.Broken) == 0 {
		return nil
	}
	b := s.Broken[0]
	if len(b.Units) > 0 {
		return fmt.Errorf("%s is compiled as part of %s, each of which #includes it with macros of its own: kprewrite asks the compiler about one unit at a time, so it cannot rewrite this patch; make the change by hand in %s for every unit", b.File, strings.Join(b.Units, ", "), b.File)
	}
	more := ""
	if n := len(s.Broken) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more)", n)
	}
	obj := strings.TrimSuffix(b.File, filepath.Ext(b.File)) + ".o"
	return fmt.Errorf("%s%s, which the config builds into %s, does not compile in the base tree (%s), so its uses are unknown: check that `make %s` works in a build of this tree and config (compiler, prepared build), then run again",
		b.File, more, e.ObjectOf(b.File).Name(), b.Reason, obj)
}

// NotBuiltHereText describes the files that do not compile in the base
// tree and that the config does not build as far as kprewrite can tell,
// for a report; "" when there are none.
func (s *Screened) NotBuiltHereText() string {
	if len(s.NotBuiltHere) == 0 {
		return ""
	}
	var parts []string
	for _, nc := range s.NotBuiltHere {
		parts = append(parts, fmt.Sprintf("%s (%s)", nc.File, nc.Reason))
	}
	return "not built here (they do not compile in the base tree and nothing says the config builds them; their uses are unknown and out of scope): " + strings.Join(parts, ", ")
}
