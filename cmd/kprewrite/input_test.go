package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/patch"
)

// soleErrorLine fails unless errs is exactly one "kprewrite: error: " line
// containing want.
func soleErrorLine(t *testing.T, errs, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "kprewrite: error: ") || !strings.Contains(lines[0], want) {
		t.Errorf("want one error line containing %q, got %q", want, errs)
	}
}

// endless is standard input that never ends (up to a cap, so a regression
// fails instead of exhausting memory); n counts the bytes handed out.
type endless struct{ n, max int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n >= e.max {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), e.max-e.n)]
	for i := range p {
		p[i] = '+'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestEndlessStdinRefused(t *testing.T) {
	in := &endless{max: 4 * patch.MaxSize}
	stdin = in
	defer func() { stdin = os.Stdin }()
	code, out, errs := kp(t, "analyze", "--tree", seed, "-")
	if code != exitBadInput || out != "" {
		t.Fatalf("exit %d, stdout %q, want 2 and nothing", code, out)
	}
	soleErrorLine(t, errs, "standard input is larger than 64 MiB")
	if in.n > patch.MaxSize+1 {
		t.Errorf("read %d bytes of an endless input, want at most %d", in.n, patch.MaxSize+1)
	}
}

func TestHugeOrEndlessPatchFileRefused(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.patch")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// sparse: the size check must refuse it without reading it
	if err := f.Truncate(patch.MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for file, want := range map[string]string{
		big:         "larger than 64 MiB",
		"/dev/zero": "not a regular file",
	} {
		if _, err := os.Stat(file); err != nil {
			t.Logf("skip %s: %v", file, err)
			continue
		}
		for _, cmd := range []string{"analyze", "rewrite", "preview"} {
			code, out, errs := kp(t, cmd, "--tree", seed, file)
			if code != exitBadInput || out != "" {
				t.Errorf("%s %s: exit %d, stdout %q, want 2 and nothing", cmd, file, code, out)
			}
			soleErrorLine(t, errs, want)
		}
	}
}

// TestPreviewStdin: "preview -" diffs the patch read from standard input
// (read once) against its rewrite, exactly as preview of the file does, and
// labels the sides upstream/ and rewritten/.
func TestPreviewStdin(t *testing.T) {
	pf := seed + "/patches/seed.patch"
	code, fromFile, errs := kp(t, "preview", "--tree", seed, pf)
	if code == exitBadInput {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.HasPrefix(fromFile, "--- upstream/seed.patch\n+++ rewritten/seed.patch\n@@ -16,") {
		t.Errorf("preview header:\n%.200s", fromFile)
	}
	f, err := os.Open(pf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdin = f
	defer func() { stdin = os.Stdin }()
	code, fromStdin, errs := kp(t, "preview", "--tree", seed, "-")
	if code == exitBadInput {
		t.Fatalf("preview -: exit %d: %s", code, errs)
	}
	want := strings.ReplaceAll(fromFile, "/seed.patch\n", "/<stdin>\n")
	if fromStdin != want {
		t.Errorf("preview - differs from preview of the file:\n%.400s", fromStdin)
	}
}

// TestUsageErrorsOneLine: a usage error is one line on standard error that
// names the help to read, nothing on standard output, exit 2; values out of
// range are usage errors too. No command at all prints the help to standard
// error and exits 2.
func TestUsageErrorsOneLine(t *testing.T) {
	t.Parallel()
	pf := seed + "/patches/seed.patch"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", pf}, "--tree is required (see kprewrite analyze --help)"},
		{[]string{"series", "--tree", seed, pf}, "--out is required (see kprewrite series --help)"},
		{[]string{"analyze", "--tree", seed, "--bogus", pf}, "flag provided but not defined: -bogus (see kprewrite analyze --help)"},
		{[]string{"rewrite", "--tree"}, "flag needs an argument: -tree (see kprewrite rewrite --help)"},
		{[]string{"verify", "--tree", seed, "-j", "x", pf}, "(see kprewrite verify --help)"},
		{[]string{"--bogus"}, "(see kprewrite --help)"},
		{[]string{"preview", "--tree", seed, "--color", "bogus", pf}, `--color must be auto, always or never, not "bogus"`},
		{[]string{"analyze", "--tree", seed, "--max-users", "-5", pf}, "--max-users must be 0 (no limit) or more, not -5"},
		{[]string{"rewrite", "--tree", seed, "-j", "0", pf}, "--jobs must be 1 or more, not 0"},
		{[]string{"verify", "--tree", seed, "--jobs", "-1", pf}, "--jobs must be 1 or more, not -1"},
		{[]string{"rewrite", "--tree", seed, "--existing", "port.x=0", pf}, `--existing wants "struct X.member=EXPR"`},
		{[]string{"rewrite", "--tree", seed, "--existing", "struct port.x=", pf}, `--existing wants "struct X.member=EXPR"`},
		{[]string{"preview", "--tree", seed, "--existing", "struct port.x=f(1", pf}, `--existing struct port.x: "f(1" is not one C expression`},
		{[]string{"rewrite", "--tree", seed, "--existing", "struct port.x=0; g()", pf}, `is not one C expression`},
	} {
		code, out, errs := kp(t, c.args...)
		if code != exitBadInput || out != "" {
			t.Errorf("%v: exit %d, stdout %.100q; want 2 and nothing", c.args, code, out)
		}
		soleErrorLine(t, errs, c.want)
	}
	code, out, errs := kp(t)
	if code != exitBadInput || out != "" || !strings.Contains(errs, "USAGE:") || !strings.HasSuffix(errs, "kprewrite: error: no command given (see kprewrite --help)\n") {
		t.Errorf("no command: exit %d, stdout %.100q, stderr %.100q", code, out, errs)
	}
	// Asked for, the help goes to standard output with exit 0.
	if code, out, _ := kp(t, "analyze", "--help"); code != exitOK || !strings.Contains(out, "--tree DIR") {
		t.Errorf("analyze --help: exit %d, stdout %.100q", code, out)
	}
}

// small patches on the seed tree that rewrite quickly.
const (
	printkPatch = "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -4,4 +4,5 @@\n int _printk(const char *fmt, ...)\n {\n+\t/* nothing to print */\n \treturn 0;\n }\n"
	brokenPatch = "--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n"
)

// allNames lists every entry below dir, hidden ones included.
func allNames(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// copySeed copies the seed tree, so a test that fails cannot write into
// the real one.
func copySeed(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "seed")
	if err := os.CopyFS(dst, os.DirFS(seed)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestOutputsRefused: -o onto a link, FIFO or directory, any output inside
// the tree (also through a link), and -o and --report naming one file are
// refused before any work, and nothing is written or replaced.
func TestOutputsRefused(t *testing.T) {
	t.Parallel()
	tr := copySeed(t)
	dir := t.TempDir()
	pf := filepath.Join(dir, "in.patch")
	os.WriteFile(pf, []byte(printkPatch), 0o644)
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep\n"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	treeLink := filepath.Join(dir, "tree-link")
	os.Symlink(filepath.Join(tr, "kernel"), treeLink)
	same := filepath.Join(dir, "same.txt")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rewrite", "-o", link}, "symbolic link"},
		{[]string{"rewrite", "-o", fifo}, "not a regular file"},
		{[]string{"rewrite", "-o", dir}, "is a directory"},
		{[]string{"rewrite", "--report", link}, "symbolic link"},
		{[]string{"rewrite", "-o", filepath.Join(tr, "lp.patch")}, "inside the tree"},
		{[]string{"rewrite", "-o", filepath.Join(treeLink, "lp.patch")}, "inside the tree"},
		{[]string{"rewrite", "--report", filepath.Join(tr, "new", "report.txt")}, "inside the tree"},
		{[]string{"rewrite", "-o", same, "--report", filepath.Join(dir, ".", "same.txt")}, "-o and --report both name"},
		{[]string{"series", "--out", filepath.Join(tr, "lp")}, "inside the tree"},
		{[]string{"series", "--out", target}, "not a directory"},
		{[]string{"series", "--out", filepath.Join(dir, "o"), "--report", fifo}, "not a regular file"},
		{[]string{"verify", "--split", filepath.Join(tr, "split")}, "inside the tree"},
		{[]string{"verify", "--split", target}, "not a directory"},
		{[]string{"verify", "--split", dir}, "is not empty"},
		{[]string{"rewrite", "--split", filepath.Join(tr, "split")}, "inside the tree"},
	} {
		args := append(append([]string{c.args[0], "--tree", tr}, c.args[1:]...), pf)
		code, out, errs := kp(t, args...)
		if code != exitBadInput || out != "" {
			t.Errorf("%v: exit %d, stdout %.100q; want 2 and nothing", c.args, code, out)
		}
		soleErrorLine(t, errs, c.want)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced")
	}
	if data, _ := os.ReadFile(target); string(data) != "keep\n" {
		t.Errorf("the link target was written: %q", data)
	}
	for _, n := range []string{"lp.patch", "kernel/lp.patch", "new", "lp", "split"} {
		if _, err := os.Lstat(filepath.Join(tr, n)); err == nil {
			t.Errorf("%s written into the tree", n)
		}
	}
	if _, err := os.Lstat(same); err == nil {
		t.Errorf("%s written", same)
	}
}

// TestSeriesAllOrNothing: whatever fails, series (and rewrite with -o and
// --report) leaves no output, no staging file and no --out directory it
// created; members with one base name are refused; the error about a
// failing member names its file.
func TestSeriesAllOrNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(rel, text string) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	write("s/0001-a.patch", printkPatch)
	write("s/0002-b.patch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1,3 +1,4 @@\n // SPDX-License-Identifier: GPL-2.0\n #include <linux/kernel.h>\n+#include <linux/types.h>\n \n")
	good := write("s/series", "0001-a.patch\n0002-b.patch\n")
	badReport := filepath.Join(dir, "no-such-dir", "report.txt")

	// The good series works, and writes the two patches and a series file.
	out := filepath.Join(dir, "ok")
	if code, _, errs := kp(t, "series", "--tree", seed, "--out", out, "--report", filepath.Join(dir, "ok.txt"), good); code == exitBadInput {
		t.Fatalf("good series: exit %d: %s", code, errs)
	}
	if diff := cmp.Diff([]string{"0001-a.patch", "0002-b.patch", "series"}, allNames(t, out)); diff != "" {
		t.Errorf("good series wrote (-want +got):\n%s", diff)
	}

	// An unwritable --report: no output at all.
	out = filepath.Join(dir, "new", "out")
	code, _, errs := kp(t, "series", "--tree", seed, "--out", out, "--report", badReport, good)
	if code != exitBadInput {
		t.Errorf("unwritable report: exit %d", code)
	}
	soleErrorLine(t, errs, "report.txt")
	if _, err := os.Lstat(filepath.Join(dir, "new")); err == nil {
		t.Errorf("unwritable report: left %v", allNames(t, filepath.Join(dir, "new")))
	}

	// An --out that is not empty (here a directory holds output 2's name)
	// is refused before any work: nothing is written or left behind.
	out = filepath.Join(dir, "out2")
	os.MkdirAll(filepath.Join(out, "0002-b.patch"), 0o755)
	code, _, errs = kp(t, "series", "--tree", seed, "--out", out, good)
	if code != exitBadInput {
		t.Errorf("output 2 unwritable: exit %d", code)
	}
	soleErrorLine(t, errs, "is not empty")
	if diff := cmp.Diff([]string{"0002-b.patch"}, allNames(t, out)); diff != "" {
		t.Errorf("output 2 unwritable left (-want +got):\n%s", diff)
	}

	// rewrite -o x --report /bad leaves no x.
	x := filepath.Join(dir, "x.patch")
	code, _, errs = kp(t, "rewrite", "--tree", seed, "-o", x, "--report", badReport, filepath.Join(dir, "s/0001-a.patch"))
	if code != exitBadInput {
		t.Errorf("rewrite with unwritable report: exit %d", code)
	}
	soleErrorLine(t, errs, "report.txt")
	if _, err := os.Lstat(x); err == nil {
		t.Errorf("rewrite with unwritable report left %s", x)
	}

	// Two members with one base name are refused.
	write("a/fix.patch", printkPatch)
	write("b/fix.patch", printkPatch)
	dup := write("series", "a/fix.patch\nb/fix.patch\n")
	out = filepath.Join(dir, "out3")
	code, _, errs = kp(t, "series", "--tree", seed, "--out", out, dup)
	if code != exitBadInput {
		t.Errorf("same base name: exit %d", code)
	}
	soleErrorLine(t, errs, "have the same name fix.patch")
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("same base name: wrote %v", allNames(t, out))
	}

	// A member that does not apply is named in the error.
	write("c/0001-a.patch", printkPatch)
	broken := write("c/0002-broken.patch", brokenPatch)
	out = filepath.Join(dir, "out4")
	code, _, errs = kp(t, "series", "--tree", seed, "--out", out, filepath.Join(dir, "c"))
	if code != exitBadInput {
		t.Errorf("broken member: exit %d", code)
	}
	soleErrorLine(t, errs, broken+": ")
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("broken member: wrote %v", allNames(t, out))
	}
}

// fullWriter fails every write, as a full disk or a closed pipe does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// A report that cannot be written is a failure of the environment (exit
// 3), in text and JSON alike: the command's verdict never reached anyone.
func TestUnwritableReportExit3(t *testing.T) {
	t.Parallel()
	pf := filepath.Join(seed, "patches", "seed.patch")
	for _, format := range []string{"text", "json"} {
		var errb bytes.Buffer
		code := run([]string{"kprewrite", "analyze", "--tree", seed, "--format", format, pf}, fullWriter{}, &errb)
		if code != 3 || !strings.Contains(errb.String(), "cannot write standard output") {
			t.Errorf("%s report to a full disk: exit %d, stderr %q; want 3 and the reason", format, code, errb.String())
		}
	}
}
