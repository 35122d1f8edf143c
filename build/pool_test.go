package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kprewrite/kprewrite/kbuild"
)

// TestOnePool: variants compiled at once share the compiler's pool of Jobs
// slots. A gcc wrapper takes a lock directory for the time of its compile
// and records any overlap: with Jobs 1 there is none, with Jobs 2 the two
// variants compile side by side.
func TestOnePool(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	for _, c := range []struct {
		jobs        int
		wantOverlap bool
	}{{1, false}, {2, true}} {
		state := t.TempDir()
		bin := t.TempDir()
		script := "#!/bin/sh\nif mkdir " + state + "/busy 2>/dev/null; then :; else touch " + state + "/overlap; fi\n" +
			"sleep 0.3\n" + gcc + " \"$@\"; rc=$?\nrmdir " + state + "/busy 2>/dev/null\nexit $rc\n"
		if err := os.WriteFile(filepath.Join(bin, "gcc"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
		env, err := kbuild.Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", kbuild.Options{CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		comp := &Compiler{Env: env, Dir: t.TempDir(), Jobs: c.jobs}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, name := range []string{"base", "rewr"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = comp.Compile(context.Background(), &Variant{Name: name}, []string{"kernel/ring.c"}, Options{SyntaxOnly: true})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err = os.Stat(filepath.Join(state, "overlap"))
		if overlap := err == nil; overlap != c.wantOverlap {
			t.Errorf("jobs %d: overlap %v, want %v", c.jobs, overlap, c.wantOverlap)
		}
	}
}
