package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/patch"
)

// oneErrorLine fails unless errs is exactly one "kprewrite: error: " line
// containing want.
func oneErrorLine(t *testing.T, errs, want string) {
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
	oneErrorLine(t, errs, "standard input is larger than 64 MiB")
	if in.n > patch.MaxSize+1 {
		t.Errorf("read %d bytes of an endless input, want at most %d", in.n, patch.MaxSize+1)
	}
}

func TestHugeOrEndlessPatchFileRefused(t *testing.T) {
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
			oneErrorLine(t, errs, want)
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
	} {
		code, out, errs := kp(t, c.args...)
		if code != exitBadInput || out != "" {
			t.Errorf("%v: exit %d, stdout %.100q; want 2 and nothing", c.args, code, out)
		}
		oneErrorLine(t, errs, c.want)
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
