package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const flagsTree = "../../testdata/kernels/flags"

// TestResultCacheRuns: a second rewrite --verify on the same tree answers
// every compile from the cache and writes byte-identical outputs; so does a
// run without the cache and a run whose cache cannot be written (it says
// so and goes on). --timings puts the phases in the JSON report and on
// standard error; --quiet and a standard error that is not a terminal show
// no progress.
func TestResultCacheRuns(t *testing.T) {
	t.Parallel()
	cache, out := t.TempDir(), t.TempDir()
	patchFile := flagsTree + "/patches/01-one-bit.patch"
	rewrite := func(name string, extra ...string) (string, string, string) {
		t.Helper()
		o, rep := filepath.Join(out, name+".patch"), filepath.Join(out, name+".report")
		args := append([]string{"rewrite", "--verify", "--format", "json", "--tree", flagsTree, "--config", flagsTree + "/config", "-o", o, "--report", rep}, extra...)
		code, stdout, stderr := kp(t, append(args, patchFile)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		p, _ := os.ReadFile(o)
		r, _ := os.ReadFile(rep)
		if strings.Contains(stderr, "  VERIFY ") || strings.Contains(stderr, "\r") {
			t.Errorf("%s: progress shown on a standard error that is not a terminal: %q", name, stderr)
		}
		return string(p) + "\n----\n" + string(r), stdout, stderr
	}
	first, _, _ := rewrite("first", "--cache", cache)
	patchOf := func(out string) string { p, _, _ := strings.Cut(out, "\n----\n"); return p }

	second, stdout, stderr := rewrite("second", "--cache", cache, "--timings", "--quiet")
	if patchOf(second) != patchOf(first) {
		t.Errorf("the run from the cache wrote a different patch:\n%s", cmp.Diff(patchOf(first), patchOf(second)))
	}
	var rep struct {
		Timings []struct {
			Phase   string  `json:"phase"`
			Seconds float64 `json:"seconds"`
			Files   int     `json:"files"`
			Cached  int     `json:"cached"`
		} `json:"timings"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("verify JSON: %v", err)
	}
	phases := map[string][2]int{}
	for _, p := range rep.Timings {
		phases[p.Phase] = [2]int{p.Files, p.Cached}
	}
	if v, o := phases["verify"], phases["oracle"]; v[0] == 0 || v[0] != v[1] || o[0] == 0 || o[0] != o[1] {
		t.Errorf("the JSON timings do not show verify and oracle compiles answered from the cache: %+v", rep.Timings)
	}
	if _, ok := phases["total"]; !ok || !strings.Contains(stderr, "time per phase") {
		t.Errorf("no timings: JSON %+v, stderr %q", rep.Timings, stderr)
	}
	if m := regexp.MustCompile(`result cache: (\d+) hits, (\d+) misses`).FindStringSubmatch(stderr); m == nil || m[1] == "0" || m[2] != "0" {
		t.Errorf("the second run was not answered from the cache: %q", stderr)
	}

	// without the cache: the same bytes
	if got, _, _ := rewrite("nocache", "--cache", t.TempDir(), "--no-result-cache"); got != first {
		t.Errorf("a run without the cache differs:\n%s", cmp.Diff(first, got))
	}

	// a results directory that cannot be written: the run goes on, says so
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "results"), []byte("not a directory"), 0o644)
	got, _, stderr := rewrite("unwritable", "--cache", broken)
	if got != first || !strings.Contains(stderr, "the result cache could not be written") {
		t.Errorf("an unwritable result cache: same outputs %v, stderr %q", got == first, stderr)
	}
	// a shared cache (another run's --cache) is read, never written
	got, _, stderr = rewrite("shared", "--cache", broken, "--cache-ro", cache, "--timings")
	if patchOf(got) != patchOf(first) || !regexp.MustCompile(`result cache: [1-9]\d* hits, 0 misses`).MatchString(stderr) {
		t.Errorf("the read-only shared cache was not used: %q", stderr)
	}
}

// TestResultCacheMaxFlag: --result-cache-max takes a size; anything else is
// bad input (exit 2), before any work.
func TestResultCacheMaxFlag(t *testing.T) {
	for _, c := range []struct {
		size string
		want int64
	}{{"5G", 5 << 30}, {"500M", 500 << 20}, {"64K", 64 << 10}, {"1048576", 1 << 20}, {"0", 0}} {
		if got, err := parseSize(c.size); err != nil || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", c.size, got, err, c.want)
		}
	}
	code, _, errs := kp(t, "analyze", "--result-cache-max", "5X", "--tree", "../../testdata/kernels/sys", "../../testdata/kernels/sys/patches/01-define2.patch")
	if code != exitBadInput || !strings.Contains(errs, "--result-cache-max") {
		t.Errorf("a bad size: exit %d:\n%s", code, errs)
	}
}
