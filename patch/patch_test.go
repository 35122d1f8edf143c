package patch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/tree"
)

const seedTree = "../testdata/kernels/seed"

func readSeed(t *testing.T) *Set {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedTree, "patches/seed.patch"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := Read("seed.patch", data, Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestReadMail(t *testing.T) {
	set := readSeed(t)
	if len(set.Patches) != 1 {
		t.Fatalf("got %d patches, want 1", len(set.Patches))
	}
	p := set.Patches[0]
	if got, want := p.Subject(), "[PATCH] bonding: fix link state notification and pass LAG info to CHANGEUPPER"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if p.Mail.Header("From") != "Jay Vosburgh <jay.vosburgh@example.org>" {
		t.Errorf("From = %q", p.Mail.Header("From"))
	}
	if !strings.Contains(p.Mail.Body, "Signed-off-by: Jay Vosburgh") || !strings.HasPrefix(p.Mail.Body, "Since the link monitor") {
		t.Errorf("body not kept: %q", p.Mail.Body)
	}
	if !strings.HasPrefix(p.Mail.Signature, "-- \n") {
		t.Errorf("signature %q", p.Mail.Signature)
	}
	var paths []string
	for _, f := range p.Files {
		paths = append(paths, f.Path())
	}
	want := []string{"drivers/net/bonding/bond_main.c", "drivers/net/lagmon/lagmon.c", "include/linux/netdevice.h", "include/net/bonding.h", "net/core/dev.c"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

// TestRoundTrip applies the seed patch, diffs the result back and checks
// the rendered patch gives the same post-image, also through git and patch.
func TestRoundTrip(t *testing.T) {
	set := readSeed(t)
	tr, err := tree.Open(seedTree)
	if err != nil {
		t.Fatal(err)
	}
	res, err := set.Patches[0].Apply(tr)
	if err != nil {
		t.Fatal(err)
	}
	out := &Patch{Mail: set.Patches[0].Mail}
	for _, r := range res {
		if f := Diff(r.Path, r.Old, r.New); f != nil {
			out.Files = append(out.Files, f)
		}
	}
	text := Render(out, RenderOptions{})
	again, err := Read("rendered", text, Options{Strip: -1})
	if err != nil {
		t.Fatalf("reading rendered patch: %v\n%s", err, text)
	}
	res2, err := again.Patches[0].Apply(tr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		if string(res[i].New) != string(res2[i].New) {
			t.Errorf("%s: post-image differs after round trip", res[i].Path)
		}
	}
	if again.Patches[0].Mail.Body != set.Patches[0].Mail.Body {
		t.Errorf("commit message changed")
	}
	checkWithTools(t, seedTree, text)
}

// checkWithTools runs git apply --check and patch --dry-run on text
// against a copy of dir.
func checkWithTools(t *testing.T, dir string, text []byte) {
	t.Helper()
	work := t.TempDir()
	if out, err := exec.Command("cp", "-a", dir+"/.", work).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	pf := filepath.Join(t.TempDir(), "p.patch")
	if err := os.WriteFile(pf, text, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("git"); err == nil {
		cmd := exec.Command("git", "apply", "--check", pf)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("git apply --check: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("patch"); err == nil {
		cmd := exec.Command("patch", "-p1", "--dry-run", "-i", pf)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("patch --dry-run: %v\n%s", err, out)
		}
	}
}

func TestFunctionContext(t *testing.T) {
	old := []byte("int a;\n\nstatic int foo(int x)\n{\n\tint y = 1;\n\n\ty += x;\n\treturn y;\n}\n")
	nw := []byte("int a;\n\nstatic int foo(int x)\n{\n\tint y = 1;\n\n\ty += x * 2;\n\treturn y;\n}\n")
	f := Diff("a.c", old, nw)
	if len(f.Hunks) != 1 {
		t.Fatalf("%d hunks", len(f.Hunks))
	}
	if got := HunkHeader(f.Hunks[0]); got != "@@ -4,6 +4,6 @@ static int foo(int x)" {
		t.Errorf("hunk header %q", got)
	}
}

func TestApplyOffsetAndFuzz(t *testing.T) {
	base := "a\nb\nc\nd\ne\nf\ng\nh\n"
	p := "--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n c\n-d\n+D\n e\n"
	set, err := Read("p", []byte(p), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, notes, err := ApplyFile(set.Patches[0].Files[0], []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a\nb\nc\nD\ne\nf\ng\nh\n" {
		t.Errorf("got %q", got)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "offset 2 lines") {
		t.Errorf("notes %v", notes)
	}
	fuzzy := "--- a/x.c\n+++ b/x.c\n@@ -3,4 +3,4 @@\n X\n d\n-e\n+E\n f\n"
	set, err = Read("p", []byte(fuzzy), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, notes, err = ApplyFile(set.Patches[0].Files[0], []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a\nb\nc\nd\nE\nf\ng\nh\n" || len(notes) != 1 || !strings.Contains(notes[0], "fuzz 1") {
		t.Errorf("got %q notes %v", got, notes)
	}
}

func TestNewAndDeletedFiles(t *testing.T) {
	p := "diff --git a/new.c b/new.c\nnew file mode 100644\n--- /dev/null\n+++ b/new.c\n@@ -0,0 +1,2 @@\n+int x;\n+int y;\n" +
		"diff --git a/old.c b/old.c\ndeleted file mode 100644\n--- a/old.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-int z;\n"
	set, err := Read("p", []byte(p), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	fs := tree.NewOverlay(emptyFS{})
	fs.Set("old.c", []byte("int z;\n"))
	res, err := set.Patches[0].Apply(fs)
	if err != nil {
		t.Fatal(err)
	}
	if string(res[0].New) != "int x;\nint y;\n" || res[0].Old != nil {
		t.Errorf("new file: %+v", res[0])
	}
	if res[1].New != nil {
		t.Errorf("deleted file still has content")
	}
	// and back
	out := Render(&Patch{Files: []*File{Diff("new.c", nil, res[0].New), Diff("old.c", res[1].Old, nil)}}, RenderOptions{})
	if string(out) != p {
		t.Errorf("render:\n%s\nwant:\n%s", out, p)
	}
}

type emptyFS struct{}

func (emptyFS) ReadFile(rel string) ([]byte, error) { return nil, os.ErrNotExist }
func (emptyFS) Exists(rel string) bool              { return false }

func TestNoNewlineAtEOF(t *testing.T) {
	old := []byte("a\nb")
	nw := []byte("a\nc")
	f := Diff("x", old, nw)
	text := RenderFile(f)
	if !strings.Contains(text, "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n") {
		t.Errorf("render:\n%s", text)
	}
	set, err := Read("p", []byte(text), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ApplyFile(set.Patches[0].Files[0], old)
	if err != nil || string(got) != string(nw) {
		t.Errorf("apply: %q %v", got, err)
	}
}

// TestNoNewlineMarkerLast: a patch whose last line is the "\\ No newline"
// marker without a newline of its own is whole, not cut short.
func TestNoNewlineMarkerLast(t *testing.T) {
	in := "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file"
	set, err := Read("in.patch", []byte(in), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ApplyFile(set.Patches[0].Files[0], []byte("a\nb\n"))
	if err != nil || string(got) != "a\nc" {
		t.Errorf("apply: %q %v", got, err)
	}
}

func TestMbox(t *testing.T) {
	one, err := os.ReadFile(filepath.Join(seedTree, "patches/seed.patch"))
	if err != nil {
		t.Fatal(err)
	}
	two := strings.Replace(string(one), "Subject: [PATCH]", "Subject: [PATCH 2/2]", 1)
	set, err := Read("mbox", []byte(string(one)+"\n"+two), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Patches) != 2 || !strings.HasPrefix(set.Patches[1].Subject(), "[PATCH 2/2]") {
		t.Fatalf("got %d patches", len(set.Patches))
	}
}

func TestBadInput(t *testing.T) {
	hunk := "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"not a diff", "hello\nworld\n", "no diff found"},
		{"truncated hunk", "--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n", "truncated hunk"},
		{"wrong counts", "--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,1 @@\n a\n-b\n+c\n", "unexpected text after the last hunk"},
		{"crlf", strings.ReplaceAll(hunk, "\n", "\r\n"), "CRLF"},
		{"binary", "diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\nliteral 3\nKcmZ?\n", "binary diff refused"},
		{"binary files differ", "diff --git a/x.bin b/x.bin\nindex 1..2 100644\nBinary files a/x.bin and b/x.bin differ\n", "binary diff refused"},
		{"rename", "diff --git a/x.c b/y.c\nsimilarity index 100%\nrename from x.c\nrename to y.c\n", "rename refused"},
		{"mode only", "diff --git a/x.c b/x.c\nold mode 100644\nnew mode 100755\n", "mode change refused"},
		{"absolute", "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "absolute path"},
		{"dotdot", "--- a/../x.c\n+++ b/../x.c\n@@ -1 +1 @@\n-a\n+b\n", "'..'"},
		{"non utf8", "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+\xff\xfe\n", "UTF-8"},
		{"nul", "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+\x00\n", "NUL byte"},
		{"cut in the last + line", "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n a\n-b\n+/* a comment cut sh", "truncated input"},
		{"cut in the last context line", "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n-b\n+c\n a", "truncated input"},
		{"bad hunk header", "--- a/x.c\n+++ b/x.c\n@@ -x +y @@\n-a\n+b\n", "malformed hunk header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read("in.patch", []byte(c.in), Options{Strip: -1})
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, c.want)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	tr, err := tree.Open(seedTree)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, in, want string }{
		{"context mismatch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1,2 +1,2 @@\n-nothing like this\n+x\n unknown\n", "hunk #1 does not apply"},
		{"missing file", "--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n", "missing from the tree"},
		{"creates existing", "--- /dev/null\n+++ b/kernel/printk.c\n@@ -0,0 +1 @@\n+x\n", "already exists"},
		{"creates a directory", "--- /dev/null\n+++ b/kernel\n@@ -0,0 +1 @@\n+x\n", "it is a directory in the tree"},
		{"creates below a file", "--- /dev/null\n+++ b/kernel/printk.c/x.c\n@@ -0,0 +1 @@\n+x\n", "below kernel/printk.c, which is a file in the tree"},
		{"creates below its own new file", "--- /dev/null\n+++ b/kernel/new.c\n@@ -0,0 +1 @@\n+x\n--- /dev/null\n+++ b/kernel/new.c/y.c\n@@ -0,0 +1 @@\n+y\n", "below kernel/new.c, which the same patch makes a file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := Read("in.patch", []byte(c.in), Options{Strip: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = set.Patches[0].Apply(tr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestNewFileWhereADirectoryIs: through an overlay, a directory that only
// an earlier patch created is a directory too, and a file an earlier patch
// deleted may become a directory.
func TestNewFileWhereADirectoryIs(t *testing.T) {
	tr, err := tree.Open(seedTree)
	if err != nil {
		t.Fatal(err)
	}
	ov := tree.NewOverlay(tr)
	ov.Set("lib/fresh/a.c", []byte("a\n"))
	ov.Delete("kernel/printk.c")
	for in, want := range map[string]string{
		"--- /dev/null\n+++ b/lib/fresh\n@@ -0,0 +1 @@\n+x\n":           "it is a directory in the tree",
		"--- /dev/null\n+++ b/kernel/printk.c/x.c\n@@ -0,0 +1 @@\n+x\n": "",
	} {
		set, err := Read("in.patch", []byte(in), Options{Strip: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = set.Patches[0].Apply(ov)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func TestSymlinkOutsideTreeRefused(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.c"), []byte("x\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip(err)
	}
	tr, err := tree.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.ReadFile("link/secret.c"); err == nil || !strings.Contains(err.Error(), "outside the tree") {
		t.Errorf("read through symlink: %v", err)
	}
}

// TestReadEmptyRewrite reads back kprewrite's own output for a patch that
// needs no livepatch (the mail, no diff), and still refuses a mail
// without a diff from anyone else.
func TestReadEmptyRewrite(t *testing.T) {
	mail := "From ec519ea3c10432fc2dc2f0aadaf0326db3b22270 Mon Sep 17 00:00:00 2001\n" +
		"From: Event Maintainer <evt@example.org>\n" +
		"Subject: [PATCH] evt: slots get a weight\n\n" +
		"Signed-off-by: Event Maintainer <evt@example.org>\n---\n" +
		EmptyRewriteNote + " (samecode)\n\n 0 files changed\n"
	set, err := Read("rewritten", []byte(mail), Options{Strip: -1})
	if err != nil {
		t.Fatalf("kprewrite's empty rewrite: %v", err)
	}
	if len(set.Patches) != 1 || len(set.Patches[0].Files) != 0 || set.Patches[0].Subject() != "[PATCH] evt: slots get a weight" {
		t.Errorf("read %d patches (%+v), want one with no files and its subject", len(set.Patches), set.Patches)
	}
	other := strings.Replace(mail, EmptyRewriteNote, "an ordinary note", 1)
	if _, err := Read("mail", []byte(other), Options{Strip: -1}); err == nil || !strings.Contains(err.Error(), "no diff found") {
		t.Errorf("a mail without a diff: %v, want no diff found", err)
	}
}

// b4 and lore write "From git@z Thu Jan  1 00:00:00 1970" between mails:
// each is a patch of its own; a diff after a signature is refused, never
// taken for the signature.
func TestMboxSeparatorsAndSignatures(t *testing.T) {
	mail := func(subject, file string) string {
		return "From git@z Thu Jan  1 00:00:00 1970\nFrom: A <a@example.org>\nSubject: [PATCH] " + subject + "\n\n---\n" +
			"--- a/" + file + "\n+++ b/" + file + "\n@@ -1 +1 @@\n-a\n+b\n-- \n2.39.5\n\n"
	}
	set, err := Read("b4.mbox", []byte(mail("one", "x.c")+mail("two", "y.c")), Options{Strip: 1})
	if err != nil || len(set.Patches) != 2 {
		t.Fatalf("b4 mbox: %v, %d patches", err, len(set.Patches))
	}
	swallowed := "Subject: [PATCH] one\n\n---\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n-- \n2.39.5\n\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-a\n+b\n"
	if _, err := Read("sig.patch", []byte(swallowed), Options{Strip: 1}); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a diff after a signature: %v, want refused", err)
	}
}

// TestRenderPlainNotes: a plain diff (no mail) that is not ready says so in
// lines before the first diff, which a reader of the patch skips: the
// rendered patch still reads back to the same file.
func TestRenderPlainNotes(t *testing.T) {
	set, err := Read("p", []byte("--- a/f.c\n+++ b/f.c\n@@ -1,1 +1,1 @@\n-a\n+b\n"), Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	out := Render(set.Patches[0], RenderOptions{Notes: []string{"kprewrite: NOT READY for a livepatch builder: 1 findings need an engineer (see the report): x"}})
	if !strings.HasPrefix(string(out), "kprewrite: NOT READY") {
		t.Errorf("the note does not come first:\n%s", out)
	}
	back, err := Read("rendered", out, Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Patches) != 1 || len(back.Patches[0].Files) != 1 || back.Patches[0].Files[0].Path() != "f.c" {
		t.Errorf("the rendered patch reads back as %+v", back.Patches)
	}
}
