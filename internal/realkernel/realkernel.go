// Package realkernel gives tests the real Debian kernel tree that
// scripts/prepare-kernel.sh prepares, and helpers to write patches against
// it that do not depend on the exact stable version: edits are anchored on
// code, not on line numbers.
package realkernel

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/patch"
)

// Tree returns the prepared source tree and its O= build directory. Without
// them the test is skipped, unless KPREWRITE_REAL=1 says they must be there
// (as in CI), in which case it fails.
func Tree(t testing.TB) (src, build string) {
	t.Helper()
	src, build = os.Getenv("KPREWRITE_LINUX_TREE"), os.Getenv("KPREWRITE_LINUX_BUILD")
	ok := src != "" && build != "" && exists(filepath.Join(src, "Makefile")) && exists(filepath.Join(build, ".config"))
	if !ok {
		if os.Getenv("KPREWRITE_REAL") == "1" {
			t.Fatalf("KPREWRITE_REAL=1 but no prepared kernel: run eval $(scripts/prepare-kernel.sh)")
		}
		t.Skip("real kernel tree not prepared: eval $(scripts/prepare-kernel.sh) to run this test")
	}
	return src, build
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Edits collects edited copies of tree files and renders them as a patch.
type Edits struct {
	t     testing.TB
	src   string
	files map[string][]byte
	order []string
}

// NewEdits starts a patch against the tree at src.
func NewEdits(t testing.TB, src string) *Edits {
	return &Edits{t: t, src: src, files: map[string][]byte{}}
}

func (e *Edits) content(rel string) []byte {
	if d, ok := e.files[rel]; ok {
		return d
	}
	d, err := os.ReadFile(filepath.Join(e.src, rel))
	if err != nil {
		e.t.Fatal(err)
	}
	e.order = append(e.order, rel)
	return d
}

// Replace replaces the only occurrence of old in rel with new.
func (e *Edits) Replace(rel, old, new string) *Edits {
	e.t.Helper()
	d := string(e.content(rel))
	if n := strings.Count(d, old); n != 1 {
		e.t.Fatalf("%s: %q occurs %d times, want once", rel, old, n)
	}
	e.files[rel] = []byte(strings.Replace(d, old, new, 1))
	return e
}

// InsertAfter inserts text after the first line matching the regexp re.
func (e *Edits) InsertAfter(rel, re, text string) *Edits {
	e.t.Helper()
	d := string(e.content(rel))
	loc := regexp.MustCompile("(?m)" + re + ".*\n").FindStringIndex(d)
	if loc == nil {
		e.t.Fatalf("%s: no line matches %q", rel, re)
	}
	e.files[rel] = []byte(d[:loc[1]] + text + d[loc[1]:])
	return e
}

// File returns the edited content of rel.
func (e *Edits) File(rel string) []byte { return e.content(rel) }

// Patch renders the edits as a git-style patch with a mail header.
func (e *Edits) Patch(subject string) []byte {
	e.t.Helper()
	p := &patch.Patch{Mail: &patch.Mail{
		FromLine: "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
		Headers:  []string{"From: kprewrite test <test@kprewrite.invalid>", "Subject: [PATCH] " + subject},
		Body:     subject + "\n\nSigned-off-by: kprewrite test <test@kprewrite.invalid>\n",
	}}
	for _, rel := range e.order {
		old, err := os.ReadFile(filepath.Join(e.src, rel))
		if err != nil {
			e.t.Fatal(err)
		}
		if f := patch.Diff(rel, old, e.files[rel]); f != nil {
			p.Files = append(p.Files, f)
		}
	}
	return patch.Render(p, patch.RenderOptions{})
}

// WritePatch writes the patch to a temporary file and returns its path.
func (e *Edits) WritePatch(subject string) string {
	e.t.Helper()
	p := filepath.Join(e.t.TempDir(), "test.patch")
	if err := os.WriteFile(p, e.Patch(subject), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// Derive makes a copy of the tree at src in a temporary directory, with
// hard links for every file (2 s for a whole kernel tree) and the given
// files rewritten by their edit functions. The edited files are written as
// new files, so the original tree is never modified.
func Derive(t testing.TB, src string, edits map[string]func(string) string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	if out, err := exec.Command("cp", "-al", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp -al: %v: %s", err, out)
	}
	for rel, fn := range edits {
		p := filepath.Join(dir, rel)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tmp := p + ".kprewrite-new"
		if err := os.WriteFile(tmp, []byte(fn(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil { // replaces the link, not the shared file
			t.Fatal(err)
		}
	}
	return dir
}
