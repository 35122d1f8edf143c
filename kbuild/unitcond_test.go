package kbuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCondsInUnit: expressions on macros a header defines from a -D of
// the unit's command are decided as that unit saw them; a unit without a
// .cmd file is no evidence.
func TestCondsInUnit(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("include/lock.h", "#if WIDTH > 32\n#define USE_WIDE 1\n#endif\n#define ALLOC_SPLIT (WIDTH / 8)\n")
	write("lib/user.c", "#include \"lock.h\"\nint x;\n")
	write("lib/.user.o.cmd", "cmd_lib/user.o := gcc -Wp,-MMD,lib/.user.o.d -Iinclude -DWIDTH=64 -c -o lib/user.o lib/user.c\n\nsource_lib/user.o := lib/user.c\n")
	got, err := CondsInUnit(context.Background(), dir, "lib/user.o", []string{"defined(USE_WIDE)", "ALLOC_SPLIT > 8", "!defined(WIDTH)"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"defined(USE_WIDE)": true, "ALLOC_SPLIT > 8": false, "!defined(WIDTH)": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := CondsInUnit(context.Background(), dir, "lib/other.o", []string{"1"}); err == nil {
		t.Error("a unit without a .cmd file was decided")
	}
}

// TestPreprocessArgs: the compile command becomes a preprocessing of
// another file to stdout.
func TestPreprocessArgs(t *testing.T) {
	got := preprocessArgs([]string{"gcc", "-Wp,-MMD,a/.b.o.d", "-nostdinc", "-Iinclude", "-c", "-o", "a/b.o", "/src/a/b.c"}, "/src/a/b.c", "/tmp/t.c")
	want := []string{"gcc", "-nostdinc", "-Iinclude", "/tmp/t.c", "-E", "-P", "-o", "-"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
