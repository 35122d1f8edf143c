package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSeriesCumulative: series --cumulative --verify on the conn tree's
// two-patch series (series/testdata) writes cumulative-01.patch (patch 1)
// and cumulative-02.patch (patches 1+2, keeping closing in the byte
// livepatch 1 put it in), no series file (the outputs replace each other,
// they do not apply in order), proves both with verify, and reports what
// livepatch 2 keeps and drops when it replaces livepatch 1.
func TestSeriesCumulative(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/conn"
	in := t.TempDir()
	var list strings.Builder
	for _, f := range []string{"01-closing.patch", "02-retries.patch"} {
		data, err := os.ReadFile(filepath.Join("../../series/testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
		list.WriteString(f + "\n")
	}
	if err := os.WriteFile(filepath.Join(in, "series"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "lp")
	rep := filepath.Join(t.TempDir(), "report.txt")
	args := append([]string{"series", "--cumulative", "--verify"}, treeArgs(dir)...)
	code, stdout, errs := kp(t, append(args, "--out", out, "--report", rep, filepath.Join(in, "series"))...)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, errs, stdout)
	}
	if d := cmp.Diff([]string{"cumulative-01.patch", "cumulative-02.patch"}, allNames(t, out)); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
	for _, want := range []string{"kprewrite: verifying cumulative-01.patch (patches 1-1)", "kprewrite: verifying cumulative-02.patch (patches 1-2)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("standard output lacks %q:\n%s", want, stdout)
		}
	}
	for _, n := range []string{"cumulative-01.patch", "cumulative-02.patch"} {
		got, _ := os.ReadFile(filepath.Join(out, n))
		goldenFile(t, dir, "series-"+n, string(got))
	}
	repText, _ := os.ReadFile(rep)
	goldenFile(t, dir, "series-cumulative.report", string(repText))
	if !strings.Contains(string(repText), "keeps: struct conn.closing in the objects themselves (hole: byte 18, 1 bytes)") {
		t.Errorf("the report does not say what livepatch 2 keeps:\n%s", repText)
	}
}

// TestSeriesVerifyNeedsCumulative: series --verify without --cumulative is
// refused with what to do instead.
func TestSeriesVerifyNeedsCumulative(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/conn"
	args := append([]string{"series", "--verify"}, treeArgs(dir)...)
	code, _, errs := kp(t, append(args, "--out", filepath.Join(t.TempDir(), "lp"), "../../series/testdata/01-closing.patch")...)
	if code != exitBadInput || !strings.Contains(errs, "--verify takes --cumulative") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
