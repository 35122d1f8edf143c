package rewrite

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/internal/kperr"
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
		return s.oracle.Err()
	}
	return nil
}

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

// CurrentSources returns the .c files of the current post-image.
func (s *Session) CurrentSources() []string {
	var out []string
	for _, f := range s.order {
		if strings.HasSuffix(f, ".c") && s.Current[f] != nil {
			out = append(out, f)
		}
	}
	return out
}

// StructLayouts returns the layout of an aggregate ("struct slave") defined
// in header, in the base tree and with the upstream patch's headers, read
// from the DWARF of a compiled user of the header.
func (s *Session) StructLayouts(header, key string) (base, upstream *layout.Struct, err error) {
	ck := header + "\x00" + key
	if l, ok := s.layouts[ck]; ok {
		return l[0], l[1], nil
	}
	if !s.HasCompiler() {
		return nil, nil, fmt.Errorf("no .config: give --config so the compiler can tell the layout")
	}
	if err := s.Env.Prepare(); err != nil {
		return nil, nil, s.failed(err)
	}
	users, _, err := s.Env.Includers(header)
	if err != nil {
		return nil, nil, err
	}
	var user string
	for _, u := range users {
		if o := s.Env.ObjectOf(u); o.Name() != "not built" {
			user = u
			break
		}
	}
	if user == "" {
		return nil, nil, fmt.Errorf("no file the config builds includes %s", header)
	}
	dir, err := s.WorkDir()
	if err != nil {
		return nil, nil, err
	}
	upFiles := map[string][]byte{}
	for f, d := range s.Upstream {
		if change.IsHeader(f) {
			upFiles[f] = d
		}
	}
	comp := &build.Compiler{Env: s.Env, Dir: dir}
	probe := map[string]string{user: "\n/* kprewrite: layout probe */\nstatic " + key + " *__kprewrite_layout_probe __attribute__((__used__));\n"}
	var got [2]*layout.Struct
	for i, v := range []*build.Variant{{Name: "lbase", Files: nil}, {Name: "lupst", Files: upFiles}} {
		rs, err := comp.Compile(s.Context(), v, []string{user}, build.Options{Extra: []string{"-g"}, Append: probe, MaxErrors: 5})
		if err != nil {
			return nil, nil, s.failed(err)
		}
		if rs[0].Failed {
			var diags []string
			for _, d := range build.Errors(rs) {
				diags = append(diags, d.String())
			}
			return nil, nil, kperr.CompileFailure(fmt.Sprintf("compiling %s to read the layout of %s failed", user, key), diags)
		}
		ls, err := layout.ReadObject(rs[0].Object)
		if err != nil {
			return nil, nil, err
		}
		got[i] = ls[key]
		if got[i] == nil {
			return nil, nil, fmt.Errorf("%s: no layout of %s in its DWARF", user, key)
		}
	}
	s.layouts[ck] = got
	return got[0], got[1], nil
}
