package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCompiler returns a directory holding only a "gcc" shell script with
// body, to put in front of PATH.
func fakeCompiler(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gcc"), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// oneErrorLine checks that stderr ends with one error line that says want
// (progress lines such as "kprewrite verify: compiling ..." may come first).
func oneErrorLine(t *testing.T, errs, want string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(errs, "\n"), "\n") {
		if strings.HasPrefix(l, "kprewrite: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.HasSuffix(errs, lines[0]+"\n") || !strings.Contains(lines[0], want) {
		t.Errorf("want one line saying %q, got:\n%s", want, errs)
	}
}

// TestNoWorkingCompiler: a compiler that is missing, fails without a
// diagnostic or crashes is never evidence (issue 13 item 1). Before, header2c
// read the failed compiles as "no users", dropped the header change and
// exited 0; now the run stops with exit 3 and one line naming what failed,
// and writes no output.
func TestNoWorkingCompiler(t *testing.T) {
	dir := "../../testdata/kernels/hdr"
	pf := filepath.Join(dir, "patches/02-macro-chain.patch")
	cases := []struct {
		name, path, want string
	}{
		{"no gcc in PATH", t.TempDir(), `cannot run the compiler gcc`},
		{"gcc exits 1 silently", fakeCompiler(t, "exit 1"), "the compiler gcc failed on "},
		{"gcc crashes", fakeCompiler(t, "kill -SEGV $$"), "the compiler gcc was killed by signal segmentation fault"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PATH", c.path)
			out := filepath.Join(t.TempDir(), "out.patch")
			for _, cmd := range [][]string{
				append(append([]string{"rewrite", "--cache", t.TempDir()}, treeArgs(dir)...), "-o", out, pf),
				append(append([]string{"verify", "--cache", t.TempDir()}, treeArgs(dir)...), pf),
			} {
				code, _, errs := kp(t, cmd...)
				if code != exitFailure {
					t.Errorf("%s: exit %d, want %d:\n%s", cmd[0], code, exitFailure, errs)
				}
				oneErrorLine(t, errs, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a rewritten patch was written")
			}
		})
	}
	// A compile that runs and prints diagnostics is evidence: the same
	// fake compiler printing an error keeps the run going (the header
	// change is then refused or kept, never an exit 3).
	t.Run("diagnostics are evidence", func(t *testing.T) {
		t.Setenv("PATH", fakeCompiler(t, `for a; do src=$a; done; echo "$src:1:1: error: expected ';'" >&2; exit 1`)+":"+os.Getenv("PATH"))
		code, _, errs := kp(t, append(append([]string{"rewrite", "--cache", t.TempDir()}, treeArgs(dir)...), "-o", filepath.Join(t.TempDir(), "o.patch"), pf)...)
		if code == exitFailure || code == exitBadInput {
			t.Errorf("exit %d:\n%s", code, errs)
		}
	})
}

// TestUnusableWorkArea: --cache that is a file, below a file, or not
// writable stops the run first with exit 3 and one line (issue 13 item 2).
func TestUnusableWorkArea(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/hdr"
	pf := filepath.Join(dir, "patches/02-macro-chain.patch")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	caches := map[string]string{"a file": file, "below a file": filepath.Join(file, "sub")}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0o555)
		caches["read-only"] = ro
	}
	for name, cache := range caches {
		t.Run(name, func(t *testing.T) {
			for _, cmd := range []string{"rewrite", "verify"} {
				code, _, errs := kp(t, append(append([]string{cmd, "--cache", cache}, treeArgs(dir)...), pf)...)
				if code != exitFailure {
					t.Errorf("%s: exit %d, want %d:\n%s", cmd, code, exitFailure, errs)
				}
				oneErrorLine(t, errs, "the work area is not usable (give --cache a writable directory)")
			}
		})
	}
}

// TestManualNoteCounts: a transform note whose action is manual work (the
// shadow transform found a free it cannot instrument) counts in "need an
// engineer" and makes rewrite exit 1 (issue 13 item 4).
func TestManualNoteCounts(t *testing.T) {
	t.Parallel()
	tr := filepath.Join(t.TempDir(), "conn")
	if err := os.CopyFS(tr, os.DirFS("../../testdata/kernels/conn")); err != nil {
		t.Fatal(err)
	}
	// A free inside a comma expression: not a plain statement, so
	// klp_shadow_free cannot go in front of it.
	core := filepath.Join(tr, "net/conn/conn_core.c")
	src, _ := os.ReadFile(core)
	src = append(src, "\nvoid conn_drop(struct conn *c, bool now)\n{\n\tif (now)\n\t\tc->port = 0, kfree(c);\n}\n"...)
	os.WriteFile(core, src, 0o644)
	code, _, errs := kp(t, "rewrite", "--cache", t.TempDir(), "--tree", tr, "--config", filepath.Join(tr, "config"),
		"-o", filepath.Join(t.TempDir(), "o.patch"), filepath.Join(tr, "patches/05-lifecycle.patch"))
	if code != exitNeedsHuman {
		t.Errorf("exit %d, want %d", code, exitNeedsHuman)
	}
	for _, w := range []string{"not handled: net/conn/conn_core.c:", "!! manual: free the shadow (klp_shadow_free) before each free the report lists as not handled", "1 need an engineer"} {
		if !strings.Contains(errs, w) {
			t.Errorf("report lacks %q:\n%s", w, errs)
		}
	}
}

// TestCancel: canceling the context (what SIGINT does) stops a run
// promptly, kills the compiler, and leaves no scratch directory or
// temporary file in the work area (issue 12 item 4).
func TestCancel(t *testing.T) {
	dir := "../../testdata/kernels/hdr"
	pf := filepath.Join(dir, "patches/02-macro-chain.patch")
	marker := filepath.Join(t.TempDir(), "started")
	// a compiler that hangs (its child too) until killed
	t.Setenv("PATH", fakeCompiler(t, "touch "+marker+"; sleep 60 & wait")+":"+os.Getenv("PATH"))
	for _, cmd := range []string{"rewrite", "verify"} {
		t.Run(cmd, func(t *testing.T) {
			os.Remove(marker)
			cache := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for i := 0; i < 200; i++ {
					if _, err := os.Stat(marker); err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				cancel()
			}()
			var out, errb bytes.Buffer
			start := time.Now()
			code := runContext(ctx, append(append([]string{"kprewrite", cmd, "--cache", cache}, treeArgs(dir)...), pf), &out, &errb)
			took := time.Since(start)
			cancel()
			if _, err := os.Stat(marker); err != nil {
				t.Fatalf("the compiler never started:\n%s", errb.String())
			}
			if code != exitFailure || !strings.Contains(errb.String(), "kprewrite: canceled: context canceled") {
				t.Errorf("exit %d:\n%s", code, errb.String())
			}
			if took > 8*time.Second {
				t.Errorf("took %v after the compiler started", took)
			}
			var left []string
			filepath.WalkDir(filepath.Join(cache, "work"), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				n := d.Name()
				if strings.HasPrefix(n, "rewrite-") || strings.HasPrefix(n, "verify-") || strings.Contains(n, ".tmp") {
					left = append(left, p)
				}
				return nil
			})
			if len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestJobsFlag: --jobs must be a positive number (issue 12 item 5).
func TestJobsFlag(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/hdr"
	code, _, errs := kp(t, append(append([]string{"rewrite", "-j", "0"}, treeArgs(dir)...), filepath.Join(dir, "patches/02-macro-chain.patch"))...)
	if code != exitBadInput {
		t.Errorf("exit %d:\n%s", code, errs)
	}
	oneErrorLine(t, errs, "--jobs must be 1 or more, not 0")
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// kprewriteBinary builds the command once per test run.
func kprewriteBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		d, err := os.MkdirTemp("", "kprewrite-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(d, "kprewrite")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestConcurrentRuns: the seven flags patches rewritten at once, several
// rounds, all sharing one cache, give exactly the golden outputs (issue 13
// item 3). Before, runs rewrote the shared autoconf.h under each other's
// compiles and bitfield fell back to shadow.
func TestConcurrentRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs 21 rewrites")
	}
	bin := kprewriteBinary(t)
	dir, _ := filepath.Abs("../../testdata/kernels/flags")
	patches, _ := filepath.Glob(filepath.Join(dir, "patches", "*.patch"))
	if len(patches) != 7 {
		t.Fatalf("%d flags patches", len(patches))
	}
	cache := t.TempDir()
	for round := range 3 {
		var wg sync.WaitGroup
		for _, pf := range patches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := filepath.Base(pf)
				out := filepath.Join(t.TempDir(), "out.patch")
				rep := filepath.Join(t.TempDir(), "report.txt")
				cmd := exec.Command(bin, "rewrite", "--cache", cache, "-j", "1", "--tree", dir, "--config", filepath.Join(dir, "config"), "-o", out, "--report", rep, pf)
				if b, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() > 1 {
					t.Errorf("round %d %s: %v\n%s", round, name, err, b)
					return
				}
				for file, golden := range map[string]string{out: name + ".rewritten", rep: name + ".report"} {
					got, _ := os.ReadFile(file)
					want, _ := os.ReadFile(filepath.Join(dir, "golden", golden))
					if !bytes.Equal(bytes.ReplaceAll(got, []byte(dir), []byte("$TREE")), want) {
						t.Errorf("round %d: %s differs from its golden file:\n%s", round, golden, got)
					}
				}
			}()
		}
		wg.Wait()
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "work", "*", "rewrite-*"))
	if len(entries) > 0 {
		t.Errorf("scratch directories left behind: %v", entries)
	}
}

// TestNeutralCompileFailure: the compiles that prove what objects created
// before the livepatch read in a new shadow member (sites.Neutral) are
// questions to the compiler like any other: one that crashes stops the run
// with exit 3, never a refusal of the member (exit 1) read as evidence.
func TestNeutralCompileFailure(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := "../../testdata/kernels/conn"
	pf := "../../rewrite/shadow/testdata/neutral-cap/input.patch"
	// gcc works for every other question; the variants Neutral compiles
	// live in work directories named nvNNN...
	t.Setenv("PATH", fakeCompiler(t, `case "$*" in *"/nv"[0-9]*) kill -SEGV $$;; esac; exec `+gcc+` "$@"`)+":"+os.Getenv("PATH"))
	out := filepath.Join(t.TempDir(), "out.patch")
	code, _, errs := kp(t, append(append([]string{"rewrite", "--cache", t.TempDir()}, treeArgs(dir)...), "-o", out, pf)...)
	if code != exitFailure {
		t.Errorf("exit %d, want %d:\n%s", code, exitFailure, errs)
	}
	oneErrorLine(t, errs, "the compiler gcc was killed by signal segmentation fault")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a rewritten patch was written")
	}
}
