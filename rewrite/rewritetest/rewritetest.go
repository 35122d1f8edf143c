// Package rewritetest runs a transform's test cases, in the spirit of
// golang.org/x/tools/go/analysis/analysistest and Coccinelle's
// .c/.cocci/.res triples. A case is a directory under the transform's
// testdata/ holding
//
//	input.patch    the upstream patch
//	output.patch   the rewritten patch kprewrite must produce (go test -update
//	               rewrites it)
//	expect         what must become of the hazards, one line each
//
// The expect file names the miniature tree the case runs on (one of
// testdata/kernels/, with its config when it has one) and the options, then
// the expectations:
//
//	# comment
//	tree flags                 testdata/kernels/flags
//	noconfig                   run without the tree's config
//	config arm64.config        run with this config of the case directory
//	strategy bitfield          --strategy
//	dialect kpatch             --dialect
//	max-users 1                --max-users
//	existing struct port.x=0   --existing (the engineer's decision)
//	resolved bitfield: struct port.link_up
//	refused struct port.duplex: no spare bits: the upstream change
//	tried struct conn.closing: structext: unsafe creation sites
//	note struct port.link_up: objects that exist when the livepatch loads
//	says struct port.link_up: the spare bits
//
// "resolved T: SUBJECT" wants the finding about SUBJECT rewritten by
// transform T; "refused SUBJECT: TEXT" wants it left unresolved, with TEXT
// in what the transforms that tried it said, its action or its reason;
// "tried SUBJECT: TEXT" wants TEXT in what a transform that refused it said,
// whatever became of it later; "note
// SUBJECT: TEXT" wants a transform's note about SUBJECT (its subject may
// carry the transform's name in front) containing TEXT; "says SUBJECT:
// TEXT" wants TEXT in how the finding about SUBJECT was rewritten.
// Every listed finding must exist.
package rewritetest

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/transforms"
	"github.com/kprewrite/kprewrite/tree"
)

var update = flag.Bool("update", false, "rewrite the golden files (a case's output.patch)")

// Case is one parsed expect file.
type Case struct {
	Tree     string // name of the miniature tree
	NoConfig bool
	Config   string // a config file of the case directory, instead of the tree's
	Options  rewrite.Options
	Expects  []Expect
}

// Expect is one expectation line.
type Expect struct {
	Line    int
	What    string // "resolved", "refused" or "note"
	By      string // the transform, for "resolved"
	Subject string
	Text    string // for "refused" and "note"
	// Rest is "SUBJECT: TEXT" as written: a subject may hold ": " itself
	// ("ring_key_poll: static_branch_unlikely"), so a finding whose subject
	// the line starts with takes it
	Rest string
}

// ParseExpect reads an expect file.
func ParseExpect(data string) (*Case, error) {
	c := &Case{Options: rewrite.Options{Dialect: "klp"}}
	sc := bufio.NewScanner(strings.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("line %d: "+format, append([]any{n}, args...)...)
		}
		switch word {
		case "tree":
			c.Tree = rest
		case "noconfig":
			c.NoConfig = true
		case "config":
			c.Config = rest
		case "strategy":
			c.Options.Strategy = rest
		case "dialect":
			c.Options.Dialect = rest
		case "max-users":
			v, err := strconv.Atoi(rest)
			if err != nil {
				return nil, bad("max-users wants a number, not %q", rest)
			}
			c.Options.MaxUsers = v
		case "existing":
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				return nil, bad("want \"existing struct X.member=EXPR\"")
			}
			if c.Options.Existing == nil {
				c.Options.Existing = map[string]string{}
			}
			c.Options.Existing[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case "resolved":
			by, subj, ok := strings.Cut(rest, ": ")
			if !ok {
				return nil, bad("want \"resolved TRANSFORM: SUBJECT\"")
			}
			c.Expects = append(c.Expects, Expect{Line: n, What: word, By: by, Subject: subj})
		case "refused", "tried", "note", "says":
			subj, text, ok := strings.Cut(rest, ": ")
			if !ok {
				return nil, bad("want \"%s SUBJECT: TEXT\"", word)
			}
			c.Expects = append(c.Expects, Expect{Line: n, What: word, Subject: subj, Text: text, Rest: rest})
		default:
			return nil, bad("unknown word %q (tree, noconfig, config, strategy, dialect, max-users, existing, resolved, refused, tried, note, says)", word)
		}
	}
	if c.Tree == "" {
		return nil, fmt.Errorf("no \"tree NAME\" line")
	}
	return c, sc.Err()
}

// Check returns what in findings does not meet the expectations.
func (c *Case) Check(findings []rewrite.Finding) []string {
	var errs []string
	for _, e := range c.Expects {
		if msg := e.check(findings); msg != "" {
			errs = append(errs, fmt.Sprintf("expect:%d: %s", e.Line, msg))
		}
	}
	return errs
}

func (e Expect) check(findings []rewrite.Finding) string {
	// two findings may share a subject (a new #include in a .c file and
	// the same #include removed from a header): the expectation holds
	// when one of them meets it; otherwise the first one's failure is told
	failed := ""
	for _, f := range findings {
		if (e.What == "note") != (f.Kind == "note") {
			continue
		}
		if e.Rest != "" && f.Subject != e.Subject && strings.HasPrefix(e.Rest, f.Subject+": ") {
			e.Subject, e.Text = f.Subject, strings.TrimPrefix(e.Rest, f.Subject+": ")
		}
		if f.Subject != e.Subject {
			continue
		}
		msg := e.checkOne(f)
		if msg == "" {
			return ""
		}
		if failed == "" && e.What != "note" {
			failed = msg // another note about the subject may say it
		}
	}
	if failed != "" {
		return failed
	}
	return fmt.Sprintf("no %s finding about %q says it", e.What, e.Subject)
}

// checkOne says how finding f, about the expectation's subject, fails
// it ("" when it meets it).
func (e Expect) checkOne(f rewrite.Finding) string {
	switch e.What {
	case "note":
		if !strings.Contains(f.Reason, e.Text) {
			return fmt.Sprintf("no note about %q says %q", e.Subject, e.Text)
		}
	case "resolved":
		if !f.Resolved || f.Transform != e.By {
			return fmt.Sprintf("%s is not resolved by %s (resolved by %q; tried %q)", e.Subject, e.By, f.Transform, f.Tried)
		}
	case "says":
		if !strings.Contains(f.Note, e.Text) {
			return fmt.Sprintf("what became of %s does not say %q:\n%s", e.Subject, e.Text, f.Note)
		}
	case "tried":
		if !strings.Contains(strings.Join(f.Tried, "\n"), e.Text) {
			return fmt.Sprintf("no transform that tried %s said %q:\n%s", e.Subject, e.Text, strings.Join(f.Tried, "\n"))
		}
	case "refused":
		said := strings.Join(append(append([]string(nil), f.Tried...), f.Action, f.Reason), "\n")
		if f.Resolved {
			return fmt.Sprintf("%s is resolved by %s, not refused", e.Subject, f.Transform)
		}
		if !strings.Contains(said, e.Text) {
			return fmt.Sprintf("the refusal of %s does not say %q:\n%s", e.Subject, e.Text, said)
		}
	}
	return ""
}

// Root returns the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Cases runs the cases of the calling transform's testdata directory with
// the registry (transforms.All): a transform package's whole harness test
// is
//
//	func TestCases(t *testing.T) { rewritetest.Cases(t) }
func Cases(t *testing.T) {
	t.Helper()
	t.Parallel()
	Run(t, "testdata", transforms.All())
}

// TreeDir returns the directory of a miniature tree of testdata/kernels.
func TreeDir(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Root(t), "testdata", "kernels", name)
}

// Env opens a tree with a config ("" for none) and a work area of the
// test's own, so that parallel tests never share one.
func Env(t testing.TB, treeDir, config string) *kbuild.Env {
	t.Helper()
	env, err := kbuild.Open(treeDir, config, kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// ReadPatch reads a file that holds exactly one patch.
func ReadPatch(t testing.TB, file string) *patch.Patch {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	set, err := patch.Read(filepath.Base(file), data, patch.Options{Strip: -1})
	if err != nil || len(set.Patches) != 1 {
		t.Fatalf("%s: want one patch: %v", file, err)
	}
	return set.Patches[0]
}

// Load loads p on env's tree; the session is closed when the test ends.
func Load(t testing.TB, env *kbuild.Env, p *patch.Patch, opt rewrite.Options) *rewrite.Session {
	t.Helper()
	base, err := tree.Open(env.Tree.Root())
	if err != nil {
		t.Fatal(err)
	}
	s, err := rewrite.Load(env, base, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Run runs every case directory under dir with the transforms of registry.
// Cases run in parallel.
func Run(t *testing.T, dir string, registry []*rewrite.Transform) {
	t.Helper()
	cases, err := filepath.Glob(filepath.Join(dir, "*", "expect"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases (%s/*/expect): %v", dir, err)
	}
	for _, ef := range cases {
		cd := filepath.Dir(ef)
		t.Run(filepath.Base(cd), func(t *testing.T) {
			t.Parallel()
			RunCase(t, cd, registry)
		})
	}
}

// RunCase runs one case directory.
func RunCase(t *testing.T, dir string, registry []*rewrite.Transform) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expect"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseExpect(string(data))
	if err != nil {
		t.Fatalf("%s/expect: %v", dir, err)
	}
	treeDir := TreeDir(t, c.Tree)
	config := ""
	if _, err := os.Stat(filepath.Join(treeDir, "config")); err == nil && !c.NoConfig {
		config = filepath.Join(treeDir, "config")
	}
	if c.Config != "" {
		config = filepath.Join(dir, c.Config)
	}
	s := Load(t, Env(t, treeDir, config), ReadPatch(t, filepath.Join(dir, "input.patch")), c.Options)
	if err := s.Run(registry); err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Check(s.Findings()) {
		t.Error(e)
	}
	Golden(t, filepath.Join(dir, "output.patch"), string(patch.Render(s.Output(), s.RenderOptions())))
}

// Golden compares got with the file path, or writes it there when the
// test runs with -update.
func Golden(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}
