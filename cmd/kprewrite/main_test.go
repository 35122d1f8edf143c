package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

const seed = "../../testdata/kernels/seed"

// kp runs the CLI in-process and returns its exit code, stdout and stderr.
func kp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"kprewrite"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// golden compares got with the seed tree's golden file name.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenFile(t, seed, name, got)
}

func TestAnalyzeSeedText(t *testing.T) {
	t.Parallel()
	code, out, errs := kp(t, "analyze", "--tree", seed, seed+"/patches/seed.patch")
	if code != exitNeedsHuman && code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "analyze.txt", out)
}

// TestAnalyzeSeedJSON checks the JSON report against the documented schema:
// the fields named in the README must be there with the right types.
func TestAnalyzeSeedJSON(t *testing.T) {
	t.Parallel()
	code, out, errs := kp(t, "analyze", "--format", "json", "--tree", seed, seed+"/patches/seed.patch")
	if code == exitBadInput {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "analyze.json", out)
	var doc struct {
		Tool          string `json:"tool"`
		SchemaVersion int    `json:"schema_version"`
		Patches       []struct {
			Findings []struct {
				File    *string `json:"file"`
				Line    *int    `json:"line"`
				Kind    *string `json:"kind"`
				Subject *string `json:"subject"`
				Reason  *string `json:"reason"`
				Action  *string `json:"action"`
			} `json:"findings"`
			Objects []struct {
				File    *string  `json:"file"`
				Object  *string  `json:"object"`
				Objects []string `json:"objects"`
			} `json:"objects"`
		} `json:"patches"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tool != "kprewrite" || doc.SchemaVersion != 1 || len(doc.Patches) != 1 {
		t.Fatalf("bad header: %+v", doc)
	}
	subjects := map[string]string{}
	for _, f := range doc.Patches[0].Findings {
		if f.File == nil || f.Line == nil || f.Kind == nil || f.Subject == nil || f.Reason == nil || f.Action == nil {
			t.Fatalf("finding misses a required field: %+v", f)
		}
		if *f.Kind != "note" {
			subjects[*f.Subject] = *f.Kind
		}
	}
	for subj, kind := range map[string]string{
		"struct slave.should_notify_link":                    "struct-layout",
		"struct netdev_notifier_changeupper_info.upper_info": "struct-layout",
		"bond_commit_link_state":                             "header-inline",
	} {
		if subjects[subj] != kind {
			t.Errorf("no %s finding for %s (got %v)", kind, subj, subjects)
		}
	}
	objects := map[string]string{}
	for _, o := range doc.Patches[0].Objects {
		objects[*o.File] = *o.Object
	}
	want := map[string]string{
		"drivers/net/bonding/bond_3ad.c":  "bonding", // the rewrite reaches it through header2c
		"drivers/net/bonding/bond_main.c": "bonding",
		"drivers/net/lagmon/lagmon.c":     "lagmon",
		"net/core/dev.c":                  "vmlinux",
		"include/net/bonding.h":           "bonding",
		"include/linux/netdevice.h":       "vmlinux, bonding, lagmon",
	}
	if diff := cmp.Diff(want, objects); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// TestRewriteRoundTrip: every testdata patch, rewritten with no transform,
// yields the same post-image as the input.
func TestRewriteRoundTrip(t *testing.T) {
	saved := registry
	registry = nil
	defer func() { registry = saved }()
	patches, _ := filepath.Glob("../../testdata/kernels/*/patches/*.patch")
	if len(patches) == 0 {
		t.Fatal("no testdata patches")
	}
	for _, pf := range patches {
		t.Run(pf, func(t *testing.T) {
			dir := filepath.Dir(filepath.Dir(pf))
			out := filepath.Join(t.TempDir(), "out.patch")
			code, _, errs := kp(t, "rewrite", "--tree", dir, "-o", out, pf)
			if code == exitBadInput {
				t.Fatalf("exit %d: %s", code, errs)
			}
			tr, _ := tree.Open(dir)
			want := postImage(t, tr, pf)
			got := postImage(t, tr, out)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("post-image differs (-want +got):\n%s", diff)
			}
		})
	}
}

func postImage(t *testing.T, tr *tree.Tree, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	set, err := patch.Read(file, data, patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	ov := tree.NewOverlay(tr)
	out := map[string]string{}
	for _, p := range set.Patches {
		res, err := p.Apply(ov)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			out[r.Path] = string(r.New)
			ov.Set(r.Path, r.New)
		}
	}
	return out
}

func TestBadInputExit2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	hunk := "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1,2 +1,2 @@\n // SPDX-License-Identifier: GPL-2.0\n-#include <linux/kernel.h>\n+#include <linux/kernel.h> \n"
	cases := map[string]string{
		"empty":         write("empty.patch", ""),
		"not a diff":    write("prose.patch", "just words\n"),
		"truncated":     write("trunc.patch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1,5 +1,5 @@\n a\n"),
		"cut short":     write("cut.patch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1,2 +1,3 @@\n // SPDX-License-Identifier: GPL-2.0\n #include <linux/kernel.h>\n+/* a comment cut sh"),
		"counts":        write("counts.patch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1 +1 @@\n a\n-b\n+c\n"),
		"no apply":      write("noapply.patch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1 +1 @@\n-nothing like this\n+x\n"),
		"crlf":          write("crlf.patch", strings.ReplaceAll(hunk, "\n", "\r\n")),
		"binary":        write("bin.patch", "diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\nliteral 3\nKcmZ?\n"),
		"rename":        write("ren.patch", "diff --git a/a.c b/b.c\nsimilarity index 100%\nrename from a.c\nrename to b.c\n"),
		"absolute":      write("abs.patch", "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n"),
		"dotdot":        write("dd.patch", "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n"),
		"missing file":  write("miss.patch", "--- a/no/such/file.c\n+++ b/no/such/file.c\n@@ -1 +1 @@\n-a\n+b\n"),
		"non-utf8":      write("latin1.patch", "--- a/kernel/printk.c\n+++ b/kernel/printk.c\n@@ -1 +1 @@\n-a\n+\xe9\n"),
		"no such patch": filepath.Join(dir, "nope.patch"),
	}
	for name, pf := range cases {
		for _, cmd := range []string{"analyze", "rewrite"} {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				out := filepath.Join(dir, "out-"+strings.ReplaceAll(name, " ", "_")+".patch")
				args := []string{cmd, "--tree", seed}
				if cmd == "rewrite" {
					args = append(args, "-o", out)
				}
				code, stdoutText, errs := kp(t, append(args, pf)...)
				if code != exitBadInput {
					t.Fatalf("exit %d, want 2 (stderr %q)", code, errs)
				}
				lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "kprewrite: error: ") {
					t.Errorf("want one error line, got %q", errs)
				}
				if stdoutText != "" {
					t.Errorf("stdout not empty: %q", stdoutText)
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("output file written on error")
				}
			})
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"analyze", seed + "/patches/seed.patch"},                                    // no --tree
		{"analyze", "--tree", seed},                                                  // no patch
		{"analyze", "--tree", seed, "--format", "xml", seed + "/patches/seed.patch"}, // bad format
		{"rewrite", "--tree", seed, "--dialect", "nope", seed + "/patches/seed.patch"},
		{"analyze", "--tree", "/no/such/dir", seed + "/patches/seed.patch"},
		{"analyze", "--tree", seed, "--config", "/no/such/config", seed + "/patches/seed.patch"},
		{"frobnicate"},
	} {
		code, _, errs := kp(t, args...)
		if code != exitBadInput {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
}

func TestPreviewWritesNothing(t *testing.T) {
	t.Parallel()
	before, _ := filepath.Glob(seed + "/**")
	code, out, errs := kp(t, "preview", "--tree", seed, seed+"/patches/seed.patch")
	if code == exitBadInput {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour codes when not on a terminal")
	}
	after, _ := filepath.Glob(seed + "/**")
	if len(before) != len(after) {
		t.Errorf("preview created files")
	}
}

func TestSeries(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(seed + "/patches/seed.patch")
	if err != nil {
		t.Fatal(err)
	}
	// A quilt series of two patches: the seed, then a follow-up on top of it.
	dir := t.TempDir()
	follow := "--- a/drivers/net/bonding/bond_3ad.c\n+++ b/drivers/net/bonding/bond_3ad.c\n@@ -11,4 +11,5 @@ void bond_3ad_handle_link_change(struct slave *slave, char link)\n" +
		" \tpr_info(\"%s: 3ad link change to %d\\n\", slave->dev->name, link);\n" +
		" \tbond_set_slave_link_state(slave, link ? BOND_LINK_UP : BOND_LINK_DOWN,\n" +
		" \t\t\t\t  BOND_SLAVE_NOTIFY_NOW);\n" +
		"+\tslave->delay = 0;\n" +
		" }\n"
	os.WriteFile(filepath.Join(dir, "0001-seed.patch"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "0002-follow.patch"), []byte(follow), 0o644)
	os.WriteFile(filepath.Join(dir, "series"), []byte("# test series\n0001-seed.patch\n0002-follow.patch -p1\n"), 0o644)
	for _, arg := range []string{filepath.Join(dir, "series"), dir} {
		out := t.TempDir()
		code, _, errs := kp(t, "series", "--tree", seed, "--out", out, arg)
		if code == exitBadInput {
			t.Fatalf("%s: exit %d: %s", arg, code, errs)
		}
		for _, n := range []string{"0001-seed.patch", "0002-follow.patch"} {
			if _, err := os.Stat(filepath.Join(out, n)); err != nil {
				t.Errorf("%s: %v", arg, err)
			}
		}
	}
	// An mbox with a broken second patch writes nothing.
	bad := filepath.Join(dir, "bad.mbox")
	os.WriteFile(bad, append(append([]byte{}, data...), []byte("\nFrom 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH 2/2] x\n\n---\n--- a/no/such.c\n+++ b/no/such.c\n@@ -1 +1 @@\n-a\n+b\n")...), 0o644)
	out := t.TempDir()
	code, _, _ := kp(t, "series", "--tree", seed, "--out", out, bad)
	if code != exitBadInput {
		t.Errorf("bad mbox: exit %d", code)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("files written for a failed series: %v", ents)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, out, errs := kp(t, "--version")
	if code != exitOK || !strings.HasPrefix(out, "kprewrite version ") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestPreviewSaysWhichEdits: after the diff, preview names the edits that
// resolved each hazard.
func TestPreviewSaysWhichEdits(t *testing.T) {
	t.Parallel()
	code, out, errs := kp(t, "preview", "--tree", seed, seed+"/patches/seed.patch")
	if code == exitBadInput {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "# struct slave.should_notify_link (bitfield): drivers/net/bonding/bond_3ad.c: accessor call x4, accessors; drivers/net/bonding/bond_main.c: accessor call x7, accessors; include/net/bonding.h: member taken out of the header\n"
	if !strings.Contains(out, want) {
		t.Errorf("preview does not say which edits resolved the bitfield hazard:\n%s", out)
	}
}

// TestStrategyValuesFromRegistry: --strategy accepts the registry's member
// strategies and names them, in order, when refusing another value.
func TestStrategyValuesFromRegistry(t *testing.T) {
	t.Parallel()
	code, _, errs := kp(t, "rewrite", "--strategy", "magic", "--tree", seed, seed+"/patches/seed.patch")
	if code != exitBadInput || !strings.Contains(errs, `--strategy must be auto, rcuhead, bitfield, structext, hole or shadow, not "magic"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
	code, _, errs = kp(t, "rewrite", "--strategy", "hole", "--tree", seed, "-o", filepath.Join(t.TempDir(), "o.patch"), seed+"/patches/seed.patch")
	if code == exitBadInput {
		t.Errorf("--strategy hole refused: %s", errs)
	}
}
