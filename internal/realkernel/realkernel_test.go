package realkernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// miniTree writes files (path -> content) into a new directory.
func miniTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestEditsPatchApplies: edits anchored on code render as a mail whose
// patch applies to the tree and gives exactly the edited files, in the
// order they were first edited.
func TestEditsPatchApplies(t *testing.T) {
	t.Parallel()
	src := miniTree(t, map[string]string{
		"include/a.h": "struct a {\n\tint x;\n};\n",
		"kernel/a.c":  "#include <a.h>\n\nint f(struct a *p)\n{\n\treturn p->x;\n}\n",
	})
	e := NewEdits(t, src).
		Replace("kernel/a.c", "return p->x;", "return p->x + p->y;").
		InsertAfter("include/a.h", `\tint x;`, "\tint y;\n")
	if got, want := string(e.File("include/a.h")), "struct a {\n\tint x;\n\tint y;\n};\n"; got != want {
		t.Errorf("edited header %q, want %q", got, want)
	}
	set, err := patch.Read("test.patch", e.Patch("a: add y"), patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Patches) != 1 || set.Patches[0].Mail == nil || set.Patches[0].Mail.Header("Subject") != "[PATCH] a: add y" {
		t.Fatalf("want one mail with its subject, got %+v", set.Patches)
	}
	tr, err := tree.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := set.Patches[0].Apply(tr)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range res {
		order = append(order, r.Path)
		if string(r.New) != string(e.File(r.Path)) {
			t.Errorf("%s after the patch:\n%s\nwant:\n%s", r.Path, r.New, e.File(r.Path))
		}
	}
	if diff := cmp.Diff([]string{"kernel/a.c", "include/a.h"}, order); diff != "" {
		t.Errorf("files in the patch (-want +got):\n%s", diff)
	}
	// the tree itself is untouched
	if data, _ := os.ReadFile(filepath.Join(src, "include/a.h")); string(data) != "struct a {\n\tint x;\n};\n" {
		t.Errorf("the tree was written: %q", data)
	}
}

// TestDerive: a derived tree shares the unedited files and holds the
// edited ones as new files; the source tree is never modified.
func TestDerive(t *testing.T) {
	t.Parallel()
	src := miniTree(t, map[string]string{"a.c": "int a;\n", "b.c": "int b;\n"})
	dir := Derive(t, src, map[string]func(string) string{
		"a.c": func(s string) string { return s + "int a2;\n" },
	})
	for rel, want := range map[string]string{"a.c": "int a;\nint a2;\n", "b.c": "int b;\n"} {
		if data, _ := os.ReadFile(filepath.Join(dir, rel)); string(data) != want {
			t.Errorf("derived %s = %q, want %q", rel, data, want)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(src, "a.c")); string(data) != "int a;\n" {
		t.Errorf("the source tree was modified: %q", data)
	}
	// b.c is a hard link to the source's file, a.c a file of its own
	same := func(rel string) bool {
		a, err1 := os.Stat(filepath.Join(src, rel))
		b, err2 := os.Stat(filepath.Join(dir, rel))
		return err1 == nil && err2 == nil && os.SameFile(a, b)
	}
	if !same("b.c") || same("a.c") {
		t.Errorf("b.c shared: %v (want true), a.c shared: %v (want false)", same("b.c"), same("a.c"))
	}
}
