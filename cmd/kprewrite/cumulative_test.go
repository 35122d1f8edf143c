package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/internal/realcases"
	"github.com/kprewrite/kprewrite/internal/realkernel"
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

// TestRealSeriesCumulative runs series --cumulative --verify on Debian's
// linux-source with the shown series (internal/realcases): patch 1 adds
// struct slave's u64 shown, which the rewrite keeps in a shadow variable
// (no hole fits it); patch 2 changes how it counts. Both cumulative patches
// are proven, use the same shadow id, and the report says livepatch 2
// keeps livepatch 1's shadow variables.
func TestRealSeriesCumulative(t *testing.T) {
	src, build := realkernel.Tree(t)
	s := realcases.SeriesByName("shown")
	work := t.TempDir()
	m, err := s.Materialize(src, work)
	if err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	for _, p := range m.Patches {
		list.WriteString(filepath.Base(p) + "\n")
	}
	seriesFile := filepath.Join(work, "series")
	if err := os.WriteFile(seriesFile, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "lp")
	rep := filepath.Join(work, "report.txt")
	code, vout, verrs := kp(t, "series", "--cumulative", "--verify", "-j", "1", "--tree", src, "--config", filepath.Join(build, ".config"),
		"--out", out, "--report", rep, seriesFile)
	report := readFile(t, rep)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s\n%s", code, report, vout, verrs)
	}
	if n := strings.Count(vout, "PROVEN"); n != 2 {
		t.Errorf("%d cumulative patches proven, want 2:\n%s", n, vout)
	}
	idRE := regexp.MustCompile(`#define SLAVE_SHOWN_SHADOW_ID\t(0x[0-9a-f]+)UL`)
	var ids []string
	for i, n := range []string{"cumulative-01.patch", "cumulative-02.patch"} {
		text := readFile(t, filepath.Join(out, n))
		id := idRE.FindStringSubmatch(text)
		if id == nil {
			t.Fatalf("%s keeps shown in no shadow variable:\n%s", n, text)
		}
		ids = append(ids, id[1])
		if strings.Contains(text, "SHOWN_MAX") != (i == 1) {
			t.Errorf("%s: holds patch 2 = %v", n, i != 1)
		}
		if strings.Contains(text, "+++ b/include/") {
			t.Errorf("%s changes a header", n)
		}
	}
	if ids[0] != ids[1] {
		t.Errorf("the shadow id moves between the steps: %s -> %s", ids[0], ids[1])
	}
	if want := "keeps: struct slave.shown in its shadow variables (shadow: id " + ids[0] + ")"; !strings.Contains(report, want) {
		t.Errorf("the report lacks %q:\n%s", want, report)
	}
}
