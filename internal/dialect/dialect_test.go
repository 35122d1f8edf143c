package dialect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/tree"
)

func TestChoose(t *testing.T) {
	dir := t.TempDir()
	tr, err := tree.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := Choose("auto", tr); c.Name != Kpatch {
		t.Errorf("no klp-build: %+v", c)
	}
	os.MkdirAll(filepath.Join(dir, "scripts/livepatch"), 0o755)
	os.WriteFile(filepath.Join(dir, KLPBuild), nil, 0o755)
	if c, _ := Choose("auto", tr); c.Name != KLP || !strings.Contains(c.Why, KLPBuild) {
		t.Errorf("klp-build: %+v", c)
	}
	if c, _ := Choose("kpatch", tr); c.Name != Kpatch || c.Why != "--dialect kpatch" {
		t.Errorf("forced: %+v", c)
	}
	if _, err := Choose("klpatch", tr); err == nil {
		t.Error("bad dialect accepted")
	}
}

func TestUsesGlue(t *testing.T) {
	for text, want := range map[string]bool{
		"+#include <linux/livepatch_helpers.h>\n": true,
		"+#include \"kpatch-macros.h\"\n":         true,
		" #include \"kpatch-syscall.h\"\n":        false, // context, not added
		"+#include <linux/livepatch.h>\n":         false,
	} {
		if got := UsesGlue([]byte(text)); got != want {
			t.Errorf("%q: %v", text, got)
		}
	}
}

// TestKpatchInclude reads kpatch's headers from the vendored tarball (when
// it is there) into a content-addressed directory, twice to the same place.
func TestKpatchInclude(t *testing.T) {
	t.Setenv("KPREWRITE_KPATCH_SRC", "")
	src := KpatchSource()
	if src == "" {
		t.Skip("no kpatch source in shared/vendor above the working directory")
	}
	cache := t.TempDir()
	dir, err := KpatchInclude(src, cache)
	if err != nil {
		t.Fatal(err)
	}
	macros, err := os.ReadFile(filepath.Join(dir, "kpatch-macros.h"))
	if err != nil || !strings.Contains(string(macros), "#define KPATCH_POST_UNPATCH_CALLBACK") {
		t.Errorf("kpatch-macros.h: %v", err)
	}
	if sys, err := os.ReadFile(filepath.Join(dir, "kpatch-syscall.h")); err != nil || !strings.Contains(string(sys), "KPATCH_SYSCALL_DEFINE2") {
		t.Errorf("kpatch-syscall.h: %v", err)
	}
	again, err := KpatchInclude(src, cache)
	if err != nil || again != dir {
		t.Errorf("second read: %s %v", again, err)
	}
}
