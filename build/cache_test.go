package build

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/kbuild"
)

// countingGCC puts a gcc wrapper first in PATH that counts its runs in the
// returned file.
func countingGCC(t *testing.T) (count func() int) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	bin, state := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	script := "#!/bin/sh\necho x >> " + state + "\nexec " + gcc + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "gcc"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return func() int {
		data, _ := os.ReadFile(state)
		return bytes.Count(data, []byte("\n"))
	}
}

// TestResultCache: a second run (new Compiler, scratch directory and
// cache handle) answers the same questions without running gcc, with the
// same diagnostics and the same object bytes; an edited header is
// compiled again; a run without the cache compiles.
func TestResultCache(t *testing.T) {
	runs := countingGCC(t)
	cacheDir := t.TempDir()
	env, err := kbuild.Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := env.Tree.ReadFile("include/linux/ring.h")
	if err != nil {
		t.Fatal(err)
	}
	broken := map[string][]byte{"include/linux/ring.h": bytes.ReplaceAll(ring, []byte("head"), []byte("hd"))}
	sources := []string{"kernel/ring.c", "drivers/ringdev/ringdev.c"}
	type answer struct {
		Failed  bool
		Diags   []Diagnostic
		Objects [][]byte
	}
	ask := func(files map[string][]byte, opt Options, rc *rcache.Cache, tr *progress.Tracker) answer {
		t.Helper()
		ctx := progress.Named(progress.With(context.Background(), tr), "oracle")
		if rc != nil {
			ctx = rcache.With(ctx, rc)
		}
		comp := &Compiler{Env: env, Dir: t.TempDir(), Jobs: 1}
		rs, err := comp.Compile(ctx, &Variant{Name: "or01", Files: files}, sources, opt)
		if err != nil {
			t.Fatal(err)
		}
		var a answer
		for _, r := range rs {
			a.Failed = a.Failed || r.Failed
			a.Diags = append(a.Diags, r.Diagnostics...)
			if r.Object != "" {
				data, err := os.ReadFile(r.Object)
				if err != nil {
					t.Fatal(err)
				}
				a.Objects = append(a.Objects, data)
			}
		}
		return a
	}
	objOpt := Options{Extra: []string{"-g"}}
	synOpt := Options{SyntaxOnly: true}

	first := ask(broken, synOpt, rcache.Open(cacheDir, nil), nil)
	if !first.Failed || len(first.Diags) == 0 || !strings.Contains(first.Diags[0].Message, "hd") && !strings.Contains(first.Diags[0].Message, "head") {
		t.Fatalf("the broken header did not fail as expected: %+v", first)
	}
	firstObj := ask(nil, objOpt, rcache.Open(cacheDir, nil), nil)
	n := runs()
	if n != 4 {
		t.Fatalf("first run: %d compiles, want 4", n)
	}

	tr := progress.New(nil, progress.Off)
	again := ask(broken, synOpt, rcache.Open(cacheDir, nil), tr)
	againObj := ask(nil, objOpt, rcache.Open(cacheDir, nil), tr)
	if runs() != n {
		t.Errorf("the second run compiled %d files, want none", runs()-n)
	}
	if d := cmp.Diff(first, again); d != "" {
		t.Errorf("cached diagnostics differ (-first +second):\n%s", d)
	}
	if d := cmp.Diff(firstObj, againObj); d != "" || len(againObj.Objects) != 2 {
		t.Errorf("cached objects differ from the compiled ones (%d objects)", len(againObj.Objects))
	}
	if ph := tr.Phases(); ph[0].Name != "oracle" || ph[0].Files != 4 || ph[0].Cached != 4 {
		t.Errorf("phases = %+v, want 4 oracle files, all from the cache", ph)
	}

	// a different header content: compiled again
	fixed := map[string][]byte{"include/linux/ring.h": append(append([]byte{}, ring...), "\n/* edited */\n"...)}
	ask(fixed, synOpt, rcache.Open(cacheDir, nil), nil)
	if got := runs() - n; got != 2 {
		t.Errorf("after an edit: %d compiles, want 2", got)
	}
	// no cache in the context: always compiled
	n = runs()
	ask(nil, objOpt, nil, nil)
	if got := runs() - n; got != 2 {
		t.Errorf("without a cache: %d compiles, want 2", got)
	}
}
