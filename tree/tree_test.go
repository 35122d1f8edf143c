package tree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanRel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"a/b.c": "a/b.c", "a/./b.c": "a/b.c", "a//b.c": "a/b.c"} {
		if got, err := CleanRel(in); err != nil || got != want {
			t.Errorf("CleanRel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"": "empty path", "/etc/passwd": "absolute path", "a/../../x": "'..' would leave the tree", ".": "names the tree itself", "a\x00b": "NUL byte"} {
		if _, err := CleanRel(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("CleanRel(%q): %v, want %q", in, err, msg)
		}
	}
}

func TestTreeReadsOnlyInside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel/a.c"), []byte("int a;\n"), 0o644)
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "kernel/link.c"))
	tr, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := tr.ReadFile("kernel/a.c"); err != nil || string(data) != "int a;\n" {
		t.Errorf("ReadFile: %q %v", data, err)
	}
	if !tr.Exists("kernel/a.c") || tr.Exists("kernel/none.c") || tr.Exists("kernel") || !tr.IsDir("kernel") {
		t.Error("Exists/IsDir")
	}
	if _, err := tr.ReadFile("kernel/link.c"); err == nil {
		t.Error("read a file outside the tree through a symlink")
	}
	if _, err := tr.ReadFile("../secret"); err == nil {
		t.Error("read a path with ..")
	}
}

func TestOverlay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.c"), []byte("base a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.c"), []byte("base b\n"), 0o644)
	tr, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := NewOverlay(tr)
	o.Set("a.c", []byte("new a\n"))
	o.Set("n.c", []byte("new file\n"))
	o.Delete("b.c")
	if data, _ := o.ReadFile("a.c"); string(data) != "new a\n" {
		t.Errorf("a.c: %q", data)
	}
	if o.Exists("b.c") || !o.Deleted("b.c") || !o.Exists("n.c") {
		t.Error("Exists/Deleted")
	}
	if _, err := o.ReadFile("b.c"); err == nil {
		t.Error("read a deleted file")
	}
	if diff := cmp.Diff([]string{"a.c", "b.c", "n.c"}, o.Changed()); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
	// the tree itself is untouched
	if data, _ := os.ReadFile(filepath.Join(dir, "a.c")); string(data) != "base a\n" {
		t.Errorf("the overlay wrote the tree: %q", data)
	}
}
