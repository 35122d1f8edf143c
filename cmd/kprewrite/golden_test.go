package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
)

// goldenFile compares got with dir/golden/name (or rewrites it with -update).
func goldenFile(t *testing.T, dir, name, got string) {
	t.Helper()
	abs, _ := filepath.Abs(dir)
	rewritetest.Golden(t, filepath.Join(dir, "golden", name), strings.ReplaceAll(got, abs, "$TREE"))
}

// treeArgs returns --tree (and --config when the tree keeps its config in
// a file named "config").
func treeArgs(dir string) []string {
	args := []string{"--tree", dir}
	if _, err := os.Stat(filepath.Join(dir, "config")); err == nil {
		args = append(args, "--config", filepath.Join(dir, "config"))
	}
	return args
}

// TestGoldenRewrites rewrites every patch of every miniature tree and
// compares the rewritten patch and the report with golden files.
func TestGoldenRewrites(t *testing.T) {
	t.Parallel()
	patches, _ := filepath.Glob("../../testdata/kernels/*/patches/*.patch")
	for _, pf := range patches {
		dir := filepath.Dir(filepath.Dir(pf))
		name := filepath.Base(pf)
		t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.patch")
			rep := filepath.Join(t.TempDir(), "report.txt")
			args := append([]string{"rewrite"}, treeArgs(dir)...)
			code, _, errs := kp(t, append(args, "-o", out, "--report", rep, pf)...)
			if code == exitBadInput {
				t.Fatalf("exit %d: %s", code, errs)
			}
			patchText, _ := os.ReadFile(out)
			repText, _ := os.ReadFile(rep)
			goldenFile(t, dir, name+".rewritten", string(patchText))
			goldenFile(t, dir, name+".report", string(repText))
		})
	}
}

// TestBitfieldCases proves every bitfield rewrite of the flags tree with
// verify. What the transform decides for each case (and its refusals) is
// in rewrite/bitfield/testdata.
func TestBitfieldCases(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/flags"
	proof := "exactly where the upstream compiler puts the member"
	runCases(t, dir, []string{"--format", "json", "--strategy", "bitfield"}, []caseRun{
		{patch: "01-one-bit.patch", proof: proof},
		{patch: "03-two-bits.patch", proof: proof},
		{patch: "04-signed.patch", proof: proof},
		{patch: "05-u32-unit.patch", proof: proof},
		{patch: "06-ifdef-run.patch", proof: proof},
	})
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// caseRun rewrites one patch of a miniature tree, which must resolve, and
// proves the result with verify.
type caseRun struct {
	patch string
	proof string // part of verify's output
}

func runCases(t *testing.T, dir string, extra []string, cases []caseRun) {
	for _, c := range cases {
		t.Run(c.patch, func(t *testing.T) {
			t.Parallel()
			pf := filepath.Join(dir, "patches", c.patch)
			out := filepath.Join(t.TempDir(), "out.patch")
			args := append(append(append([]string{"rewrite"}, treeArgs(dir)...), extra...), "-o", out, pf)
			code, _, errs := kp(t, args...)
			if code == exitBadInput {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if code != exitOK {
				t.Fatalf("exit %d, want it resolved:\n%s", code, errs)
			}
			if strings.Contains(readFile(t, out), "+++ b/include/") {
				t.Errorf("the rewritten patch still changes a header")
			}
			code, vout, verrs := kp(t, append(append([]string{"verify"}, treeArgs(dir)...), "--original", pf, out)...)
			if code != exitOK {
				t.Errorf("verify: exit %d\n%s%s", code, vout, verrs)
			}
			if !strings.Contains(vout, c.proof) {
				t.Errorf("verify output lacks %q:\n%s", c.proof, vout)
			}
		})
	}
}

// TestStructextCases proves the structext rewrites of the ext tree; the
// refusals are in rewrite/structext/testdata.
func TestStructextCases(t *testing.T) {
	t.Parallel()
	runCases(t, "../../testdata/kernels/ext", []string{"--strategy", "structext"}, []caseRun{
		{patch: "01-stack.patch", proof: "every function the upstream patch changes is changed by the rewritten patch"},
		{patch: "02-kmalloc.patch", proof: "every function the upstream patch changes is changed by the rewritten patch"},
	})
	// The seed notifier case: the creation site outside the upstream patch
	// (netdev_upper_dev_unlink) joins the rewritten patch.
	t.Run("seed creation site outside the patch", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out.patch")
		code, _, errs := kp(t, "rewrite", "--tree", seed, "-o", out, seed+"/patches/seed.patch")
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, errs)
		}
		if !strings.Contains(errs, "Functions added to the patch because they create it: net/core/dev.c:netdev_upper_dev_unlink (stack)") {
			t.Errorf("report does not name the added creation site:\n%s", errs)
		}
		if !strings.Contains(readFile(t, out), " void netdev_upper_dev_unlink(struct net_device *dev,\n \t\t\t     struct net_device *upper_dev)\n {\n-\tstruct netdev_notifier_changeupper_info changeupper_info = {\n+\tstruct netdev_notifier_changeupper_info_ext changeupper_info = {\n") {
			t.Errorf("the unlink creation site is not converted")
		}
	})
}

// TestHoleShadowCases proves the hole and shadow rewrites of the conn tree
// with verify: a bool in a hole of a kzalloc'd struct; the same kind of
// member in a struct that is copied by value (shadow instead); a spinlock
// (a static table of locks); a counter written in interrupt context; a
// struct with create and destroy functions (alloc and free inserted).
func TestHoleShadowCases(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/conn"
	proven := "PROVEN"
	runCases(t, dir, nil, []caseRun{
		{patch: "01-hole-bool.patch", proof: proven},
		{patch: "02-copied.patch", proof: proven},
		{patch: "03-spinlock.patch", proof: proven},
		{patch: "04-irq-counter.patch", proof: proven},
		{patch: "05-lifecycle.patch", proof: proven},
	})
	rewriteOut := func(t *testing.T, name string, extra ...string) (string, string) {
		out := filepath.Join(t.TempDir(), "out.patch")
		args := append(append(append([]string{"rewrite"}, treeArgs(dir)...), extra...), "-o", out, filepath.Join(dir, "patches", name))
		code, _, errs := kp(t, args...)
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, errs)
		}
		return readFile(t, out), errs
	}
	// what the transforms decide (and the rewritten patches) is in
	// rewrite/hole/testdata and rewrite/shadow/testdata; the shadow id
	// override is an option of the command
	t.Run("shadow id override", func(t *testing.T) {
		t.Parallel()
		out, _ := rewriteOut(t, "02-copied.patch", "--shadow-id", "struct sess.closed=0x4242")
		if !strings.Contains(out, "#define SESS_CLOSED_SHADOW_ID\t0x4242UL") {
			t.Errorf("the shadow id is not overridden:\n%s", out)
		}
	})
	// a decision no strategy asks for (a misspelt member) is said, not
	// silently dropped
	t.Run("unused decision", func(t *testing.T) {
		t.Parallel()
		_, errs := rewriteOut(t, "02-copied.patch", "--existing", "struct sess.clsoed=1")
		if !strings.Contains(errs, `the decision --existing "struct sess.clsoed=1" was not used`) {
			t.Errorf("no note on the unused decision:\n%s", errs)
		}
	})
}

// TestHeader2cCases proves every header2c rewrite of the hdr tree with
// verify; the refusals (the blast-radius limit, the __init caller) are in
// rewrite/header2c/testdata.
func TestHeader2cCases(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/hdr"
	runCases(t, dir, nil, []caseRun{
		{patch: "01-inline-two-objects.patch", proof: "PROVEN"},
		{patch: "02-macro-chain.patch", proof: "PROVEN"},
		{patch: "03-new-helper-macro.patch", proof: "PROVEN"},
	})
}

// TestVerifyFtrace: a changed function must have an ftrace entry, or its
// livepatch does not load. ring_tail in the hdr tree is notrace.
func TestVerifyFtrace(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/hdr"
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "fix.patch")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notrace := write(`--- a/kernel/ring.c
+++ b/kernel/ring.c
@@ -31,5 +31,5 @@ u32 ring_room(const struct ring *r)
 
 notrace u32 ring_tail(const struct ring *r)
 {
-	return r->tail;
+	return r->tail % r->size;
 }
`)
	code, out, errs := kp(t, append(append([]string{"verify"}, treeArgs(dir)...), notrace)...)
	if code != exitNeedsHuman || !strings.Contains(out, "vmlinux: ring_tail (kernel/ring.c) changes but has no ftrace entry") {
		t.Errorf("notrace function: exit %d\n%s%s", code, out, errs)
	}
	traced := write(`--- a/kernel/ring.c
+++ b/kernel/ring.c
@@ -25,5 +25,5 @@ bool ring_push(struct ring *r)
 
 u32 ring_room(const struct ring *r)
 {
-	return RING_SPACE(r);
+	return RING_SPACE(r) - 1;
 }
`)
	code, out, errs = kp(t, append(append([]string{"verify"}, treeArgs(dir)...), traced)...)
	if code != exitOK || !strings.Contains(out, "every changed function has an ftrace entry (1 checked)") {
		t.Errorf("traced function: exit %d\n%s%s", code, out, errs)
	}
}

// TestVerifyEmptyRewritten: a rewritten patch that dropped every change
// is checked against the upstream one (not refused as bad input): the
// functions upstream changes are missing, so it is not proven.
func TestVerifyEmptyRewritten(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/kernels/hdr"
	orig := filepath.Join(t.TempDir(), "fix.patch")
	if err := os.WriteFile(orig, []byte(`--- a/kernel/ring.c
+++ b/kernel/ring.c
@@ -25,5 +25,5 @@ bool ring_push(struct ring *r)
 
 u32 ring_room(const struct ring *r)
 {
-	return RING_SPACE(r);
+	return RING_SPACE(r) - 1;
 }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.patch")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := kp(t, append(append([]string{"verify"}, treeArgs(dir)...), "--original", orig, empty)...)
	if code != exitNeedsHuman || !strings.Contains(out, "MISSING:   ring_room") {
		t.Errorf("empty rewritten patch: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := kp(t, append(append([]string{"verify"}, treeArgs(dir)...), empty)...); code != exitBadInput {
		t.Errorf("empty patch without --original: exit %d, want bad input\n%s", code, errs)
	}
}
