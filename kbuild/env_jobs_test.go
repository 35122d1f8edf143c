package kbuild

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

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
