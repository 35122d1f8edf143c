package build

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/kbuild"
)

// TestOverlayCompile compiles a file of the seed tree twice: as it is, and
// with a header replaced through the overlay, which must make gcc see the
// new header (and report the error at the tree-relative path).
func TestOverlayCompile(t *testing.T) {
	env, err := kbuild.Open("../testdata/kernels/seed", "", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := &Compiler{Env: env, Dir: t.TempDir(), Jobs: 2}
	base := &Variant{Name: "base", Files: map[string][]byte{}}
	rs, err := c.Compile(context.Background(), base, []string{"drivers/net/bonding/bond_main.c", "net/core/dev.c"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Failed || r.Object == "" {
			t.Fatalf("%s failed: %v", r.Source, r.Diagnostics)
		}
	}
	if rs[0].Module != "bonding" || rs[1].Module != "" {
		t.Errorf("modules %q %q", rs[0].Module, rs[1].Module)
	}
	hdr, _ := env.Tree.ReadFile("include/net/bonding.h")
	broken := strings.Replace(string(hdr), "should_notify:1;", "should_notify_renamed:1;", 1)
	v := &Variant{Name: "vari", Files: map[string][]byte{"include/net/bonding.h": []byte(broken)}}
	rs, err = c.Compile(context.Background(), v, []string{"drivers/net/bonding/bond_main.c"}, Options{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Failed {
		t.Fatal("the overlay header was not used")
	}
	found := false
	for _, d := range Errors(rs) {
		if d.File == "drivers/net/bonding/bond_main.c" && strings.Contains(d.Message, "has no member named 'should_notify'") {
			found = true
		}
	}
	if !found {
		t.Errorf("no type-exact error at the use site: %v", rs[0].Diagnostics)
	}
}

// gcc reports a full disk at a source line; that is the machine, not the
// source: a toolchain failure, never a compile failure of the patch.
func TestToolchainFailureDiskFull(t *testing.T) {
	err := exec.Command("sh", "-c", "exit 1").Run()
	out := "kernel/ring.c:43:1: error: error writing to /tmp/ccAA4Eot.s: No space left on device\n"
	got := toolchainFailure("gcc", "kernel/ring.c", out, err)
	if got == nil || kperr.KindOf(got) != kperr.Toolchain {
		t.Errorf("disk full: %v (kind %v), want a toolchain failure", got, kperr.KindOf(got))
	}
	out = "kernel/ring.c:43:1: error: expected ';' before '}' token\n"
	if got := toolchainFailure("gcc", "kernel/ring.c", out, err); got != nil {
		t.Errorf("a real error diagnostic: %v, want nil (evidence about the source)", got)
	}
}

// The cap on kept diagnostics counts errors apart from warnings.
func TestParseDiagnosticsKeepsErrorsAfterWarnings(t *testing.T) {
	out := strings.Repeat("a.c:1:1: warning: noisy\n", 30) + "a.c:2:1: error: bad\n"
	ds := parseDiagnostics(out, "", "", "", "/", 5)
	var errs, warns int
	for _, d := range ds {
		if d.Severity == "error" {
			errs++
		} else {
			warns++
		}
	}
	if errs != 1 || warns != 5 {
		t.Errorf("kept %d errors and %d warnings, want 1 and 5", errs, warns)
	}
}

// gcc reports some diagnostics without a column ("f.c:2: warning: "X"
// redefined"): they are read too.
func TestParseDiagnosticsWithoutColumn(t *testing.T) {
	ds := parseDiagnostics("f.c:2: warning: \"X\" redefined\n", "", "", "", "/", 0)
	if len(ds) != 1 || ds[0].Line != 2 || ds[0].Severity != "warning" || !strings.Contains(ds[0].Message, "redefined") {
		t.Errorf("parsed %+v", ds)
	}
}
