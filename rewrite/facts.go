package rewrite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/oracle"
)

// Facts from the compiler that transforms share: scratch space, the member
// oracle and struct layouts. All need a configured tree (or a plain one).

// HasCompiler reports whether the session can compile files of the tree.
func (s *Session) HasCompiler() bool {
	return s.Env != nil && s.Env.Config != nil
}

// Context returns the context that bounds the session's compiles.
func (s *Session) Context() context.Context {
	if s.Env == nil {
		return context.Background()
	}
	return s.Env.Context()
}

// Err returns the first failure of the environment (compiler, work area,
// cancellation) the session's compiles met, or nil. Transforms may turn
// such an error into a refusal; Run stops on it instead, because a failed
// compile is never evidence about the patch.
func (s *Session) Err() error {
	if s.fatal != nil {
		return s.fatal
	}
	if s.oracle != nil {
		if err := s.oracle.Err(); err != nil {
			return err
		}
	}
	if s.Env != nil {
		return s.Env.Failure()
	}
	return nil
}

// Failed records err when it is a failure of the environment (a compile
// that could not run), so that Run stops on it whatever the transform made
// of it, and returns it.
func (s *Session) Failed(err error) error { return s.failed(err) }

// failed records err when it is a failure of the environment, and returns it.
func (s *Session) failed(err error) error {
	if s.fatal == nil && kperr.IsEnvironment(err) {
		s.fatal = err
	}
	return err
}

// WorkDir returns a scratch directory for this session, unique to this run
// (removed by Close).
func (s *Session) WorkDir() (string, error) {
	if s.work != "" {
		return s.work, nil
	}
	if err := os.MkdirAll(s.Env.Work, 0o755); err != nil {
		return "", s.failed(kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)"))
	}
	d, err := os.MkdirTemp(s.Env.Work, "rewrite-")
	if err != nil {
		return "", s.failed(kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)"))
	}
	s.work = d
	return d, nil
}

// Close removes the session's scratch directory.
func (s *Session) Close() {
	if s.work != "" {
		os.RemoveAll(s.work)
		s.work = ""
	}
}

// Oracle returns the session's compiler oracle.
func (s *Session) Oracle() (*oracle.Oracle, error) {
	if s.oracle != nil {
		return s.oracle, nil
	}
	if err := s.Env.Prepare(); err != nil {
		return nil, s.failed(err)
	}
	d, err := s.WorkDir()
	if err != nil {
		return nil, err
	}
	s.oracle = &oracle.Oracle{Env: s.Env, Dir: d}
	return s.oracle, nil
}

// CurrentFiles returns every file of the current post-image.
func (s *Session) CurrentFiles() map[string][]byte {
	out := map[string][]byte{}
	for k, v := range s.Current {
		out[k] = v
	}
	return out
}

// CurrentSources returns the .c files of the current post-image that the
// config may build. A file the Makefiles leave out under the config is no
// question for the compiler: none of its code is in the kernel, and it
// need not compile (sound/soc/sof/compress.c without
// CONFIG_SND_SOC_SOF_COMPRESS redefines the header's stubs).
func (s *Session) CurrentSources() []string {
	var out []string
	for _, f := range s.order {
		if !strings.HasSuffix(f, ".c") || s.Current[f] == nil {
			continue
		}
		if s.Env != nil && s.Env.Config != nil && s.Env.ObjectOf(f).Kind == kbuild.NotBuilt {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Requirement is a fact a transform declares in Requires.
type Requirement interface {
	FactName() string
}

// Fact is a typed result about the tree that transforms share, declared
// once with the function that computes it (like an analysis.Analyzer's
// result): the driver computes it at most once per session and key, the
// first time a transform that Requires it asks, and hands every later
// transform the same value.
type Fact[K comparable, T any] struct {
	Name    string // for messages ("creation sites")
	Doc     string
	Compute func(s *Session, key K) (T, error)
}

// FactName returns the fact's name.
func (f *Fact[K, T]) FactName() string { return f.Name }

type factKey struct {
	fact any // the *Fact
	key  any
}

type factValue struct {
	v   any
	err error
}

// Get returns the fact for key, computing it once per session. The
// running transform must declare the fact in Requires: a transform that
// reads an undeclared fact is a bug, and Get panics.
func (f *Fact[K, T]) Get(p *Pass, key K) (T, error) {
	if !slices.ContainsFunc(p.Transform.Requires, func(r Requirement) bool { return r == Requirement(f) }) {
		panic(fmt.Sprintf("kprewrite: transform %s reads fact %q without declaring it in Requires", p.Transform.Name, f.Name))
	}
	k := factKey{f, key}
	if v, ok := p.facts[k]; ok {
		t, _ := v.v.(T)
		return t, v.err
	}
	t, err := f.Compute(p.Session, key)
	p.facts[k] = factValue{t, err}
	return t, err
}

// StructRef names an aggregate ("struct slave") defined in a header.
type StructRef struct {
	Header string
	Key    string // "struct slave", "union u"
}

// Layouts is the fact of an aggregate's layout in the base tree and with
// the upstream patch's headers, read from the DWARF of a compiled user of
// the header.
var Layouts = &Fact[StructRef, [2]*layout.Struct]{
	Name:    "layouts",
	Doc:     "the base and upstream layout of a struct, from the DWARF of a compiled user of its header",
	Compute: structLayouts,
}

func structLayouts(s *Session, ref StructRef) ([2]*layout.Struct, error) {
	header, key := ref.Header, ref.Key
	var got [2]*layout.Struct
	if !s.HasCompiler() {
		return got, fmt.Errorf("no .config: give --config so the compiler can tell the layout")
	}
	if err := s.Env.Prepare(); err != nil {
		return got, s.failed(err)
	}
	hu, err := s.Env.HeaderUsers(header)
	if err != nil {
		return got, err
	}
	// The includers the config builds that compile in the base tree, the
	// patch's own files and the header's neighbours first: without a
	// complete build the includers are a textual over-approximation (an
	// <types.h> under some Makefile's -I names every types.h of the tree),
	// and a file that does not really include the header has no layout of
	// the struct in its DWARF; the next one is asked then.
	var notHere, noLayout error
	tried, compiled := 0, 0
	for _, user := range layoutCandidates(s, header, append(hu.Built, hu.Unknown...)) {
		if tried == 8 || compiled == 3 {
			break
		}
		tried++
		err := s.Env.Buildable(user)
		if kbuild.IsNotCompilable(err) != nil {
			notHere = err
			continue
		}
		if err != nil {
			return got, err
		}
		compiled++
		got, err = layoutsIn(s, user, key)
		if errors.Is(err, errNoLayout) {
			noLayout = err
			continue
		}
		return got, err
	}
	switch {
	case noLayout != nil:
		return got, noLayout
	case notHere != nil:
		return got, fmt.Errorf("no file that includes %s compiles in the base tree: %v", header, notHere)
	}
	return got, fmt.Errorf("no file the config builds includes %s", header)
}

// errNoLayout is the error of a compiled user whose DWARF has no layout of
// the struct: it does not include the header after all.
var errNoLayout = errors.New("no layout in its DWARF")

// layoutCandidates orders the users of header to ask for a layout: the
// patch's files first, then by how much of the header's directory they
// share (net/batman-adv/types.h: net/batman-adv/ before net/ceph/),
// then by name.
func layoutCandidates(s *Session, header string, users []string) []string {
	out := slices.Clone(users)
	shared := func(f string) int {
		n := 0
		a, b := strings.Split(path.Dir(header), "/"), strings.Split(path.Dir(f), "/")
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		return n
	}
	patched := func(f string) int {
		if s.Upstream[f] != nil {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b string) int {
		if c := patched(a) - patched(b); c != 0 {
			return c
		}
		if c := shared(b) - shared(a); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// layoutsIn compiles user with a probe of key, in the base tree and with
// the upstream patch's headers, and reads the two layouts from its DWARF.
func layoutsIn(s *Session, user, key string) ([2]*layout.Struct, error) {
	var got [2]*layout.Struct
	dir, err := s.WorkDir()
	if err != nil {
		return got, err
	}
	upFiles := map[string][]byte{}
	for f, d := range s.Upstream {
		if change.IsHeader(f) {
			upFiles[f] = d
		}
	}
	comp := &build.Compiler{Env: s.Env, Dir: dir}
	probe := map[string]string{user: "\n/* kprewrite: layout probe */\nstatic " + key + " *__kprewrite_layout_probe __attribute__((__used__));\n"}
	for i, v := range []*build.Variant{{Name: "lbase", Files: nil}, {Name: "lupst", Files: upFiles}} {
		opt := build.Options{Extra: []string{"-g"}, Append: probe, MaxErrors: 5}
		rs, err := comp.Compile(progress.Named(s.Context(), "facts"), v, []string{user}, opt)
		if err == nil && rs[0].Failed && i == 1 && s.Upstream[user] != nil {
			// the user itself as upstream leaves it: the base file may
			// use a member the upstream header removes
			withUser := maps.Clone(upFiles)
			withUser[user] = s.Upstream[user]
			rs, err = comp.Compile(progress.Named(s.Context(), "facts"), &build.Variant{Name: "lupsu", Files: withUser}, []string{user}, opt)
		}
		if err != nil {
			return got, s.failed(err)
		}
		if rs[0].Failed {
			var diags []string
			for _, d := range build.Errors(rs) {
				diags = append(diags, d.String())
			}
			return got, kperr.CompileFailure(fmt.Sprintf("compiling %s to read the layout of %s failed", user, key), diags)
		}
		ls, err := layout.ReadObject(rs[0].Object)
		if err != nil {
			return got, err
		}
		got[i] = ls[key]
		if got[i] == nil {
			return got, fmt.Errorf("%s: %w of %s", user, errNoLayout, key)
		}
	}
	return got, nil
}

// Compilable returns the files of list that compile in the base tree (see
// kbuild.Env.Screen): the ones a compiler question may be asked about. A
// file the config builds that does not compile is an error: its answer
// would be no evidence.
func (s *Session) Compilable(list []string) ([]string, error) {
	sc, err := s.Env.Screen(list)
	if err != nil {
		return nil, s.failed(err)
	}
	if err := sc.BrokenError(s.Env); err != nil {
		return nil, err
	}
	return sc.Files, nil
}
