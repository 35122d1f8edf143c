package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
)

// TestCheckpatchCached: checkpatch's answer for the same patch comes from
// the result cache on the next run; an edit of a file beside the script
// that checkpatch reads (spelling.txt) runs it again.
func TestCheckpatchCached(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	dir := t.TempDir()
	count := filepath.Join(t.TempDir(), "runs")
	os.MkdirAll(filepath.Join(dir, "scripts"), 0o755)
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel", "a.c"), []byte("int a;\n"), 0o644)
	script := `open(my $f, '>>', '` + count + `'); print $f "x\n"; close $f; while (<STDIN>) {}
print "-:3: WARNING:LONG_LINE: line length of 120 exceeds 100 columns\n"; exit 1;
`
	os.WriteFile(filepath.Join(dir, "scripts", "checkpatch.pl"), []byte(script), 0o644)
	os.WriteFile(filepath.Join(dir, "scripts", "spelling.txt"), []byte("teh||the\n"), 0o644)
	set, err := patch.Read("a.patch", []byte("--- a/kernel/a.c\n+++ b/kernel/a.c\n@@ -1 +1 @@\n-int a;\n+int a = 1;\n"), patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	runs := func() int { d, _ := os.ReadFile(count); return bytes.Count(d, []byte("\n")) }
	check := func() []string {
		t.Helper()
		ctx := rcache.With(context.Background(), rcache.Open(cache, nil))
		env, err := kbuild.Open(dir, "", kbuild.Options{Context: ctx, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := checkpatch(env, set.Patches[0])
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	want := []string{"WARNING:LONG_LINE: line length of 120 exceeds 100 columns"}
	for i := 1; i <= 2; i++ {
		if d := cmp.Diff(want, check()); d != "" {
			t.Errorf("run %d: messages (-want +got):\n%s", i, d)
		}
	}
	if runs() != 1 {
		t.Errorf("checkpatch ran %d times for the same patch, want once", runs())
	}
	os.WriteFile(filepath.Join(dir, "scripts", "spelling.txt"), []byte("teh||the\nrecieve||receive\n"), 0o644)
	check()
	if runs() != 2 {
		t.Errorf("after spelling.txt changed: %d runs, want 2", runs())
	}
}

// A checkpatch.pl that cannot run (no perl) is an environment failure that
// stops verify, never a passed style check.
func TestStyleWithoutPerlStops(t *testing.T) {
	dir, env := seedCopy(t, "scripts/checkpatch.pl", "exit 0;\n")
	p := edit(t, dir, [3]string{"drivers/net/bonding/bond_procfs.c", "Link Failure Count: %u", "Link failures: %u"})
	t.Setenv("PATH", t.TempDir())
	c, err := styleCheck(env, p, nil)
	if err == nil || kperr.KindOf(err) != kperr.Toolchain {
		t.Errorf("style check without perl: %+v, %v (kind %v), want a toolchain failure", c, err, kperr.KindOf(err))
	}
}
