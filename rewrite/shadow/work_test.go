package shadow_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
)

// The work's shadow code is C the golden file only shows: it must compile
// against the conn tree's headers (which declare what the kernel's do),
// warning-free, with the rewritten patch applied.
func TestWorkOutputCompiles(t *testing.T) {
	t.Parallel()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatal("gcc is needed: " + err.Error())
	}
	tree := rewritetest.TreeDir(t, "conn")
	for _, c := range []string{"work-delayed", "work-plain"} {
		compileOutput(t, gcc, tree, "testdata/"+c+"/output.patch")
	}
}

// compileOutput applies a case's output patch to copies of the files it
// changes and compiles each with the tree's headers.
func compileOutput(t *testing.T, gcc, tree, out string) {
	t.Helper()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	set, err := patch.Read(out, data, patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, p := range set.Patches {
		for _, f := range p.Files {
			old, err := os.ReadFile(filepath.Join(tree, f.Path()))
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := patch.ApplyFile(f, old)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, filepath.Base(f.Path()))
			if err := os.WriteFile(dst, out, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(gcc, "-fsyntax-only", "-Wall", "-Werror", "-nostdinc", "-I", filepath.Join(tree, "include"), dst)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: %s does not compile: %v\n%s", out, f.Path(), err, msg)
			}
		}
	}
}
