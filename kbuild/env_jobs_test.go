package kbuild

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kprewrite/kprewrite/internal/kperr"
)

// TestJobs: one setting for parallel work: Options.Jobs, else
// $KPREWRITE_JOBS, else the number of CPUs.
func TestJobs(t *testing.T) {
	t.Setenv("KPREWRITE_JOBS", "")
	if got := DefaultJobs(); got != runtime.NumCPU() {
		t.Errorf("default %d, want %d CPUs", got, runtime.NumCPU())
	}
	t.Setenv("KPREWRITE_JOBS", "3")
	if got := DefaultJobs(); got != 3 {
		t.Errorf("KPREWRITE_JOBS=3: %d", got)
	}
	env, err := Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", Options{CacheDir: t.TempDir(), Jobs: 5})
	if err != nil {
		t.Fatal(err)
	}
	if env.Jobs() != 5 {
		t.Errorf("Options.Jobs 5: %d", env.Jobs())
	}
}

// TestCheckWorkArea: a cache below a file is an unusable work area.
func TestCheckWorkArea(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	env, err := Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", Options{CacheDir: file})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.CheckWorkArea(); kperr.KindOf(err) != kperr.WorkArea {
		t.Errorf("got %v", err)
	}
	env, _ = Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", Options{CacheDir: t.TempDir()})
	if err := env.CheckWorkArea(); err != nil {
		t.Error(err)
	}
}

// TestStaleScratchRemoved: the work area check removes the scratch
// directories a killed run left (older than a day) and leaves a running
// one's, and everything else, alone.
func TestStaleScratchRemoved(t *testing.T) {
	env, err := Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	mk := func(name string, when time.Time) string {
		d := filepath.Join(env.Work, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(d, when, when)
		return d
	}
	stale := []string{mk("rewrite-111", old), mk("verify-222", old)}
	kept := []string{mk("rewrite-333", time.Now()), mk("obj", old)}
	if err := env.CheckWorkArea(); err != nil {
		t.Fatal(err)
	}
	for _, d := range stale {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left", filepath.Base(d))
		}
	}
	for _, d := range kept {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed", filepath.Base(d))
		}
	}
}
