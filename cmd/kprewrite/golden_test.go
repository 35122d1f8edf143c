package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenFile compares got with dir/golden/name (or rewrites it with -update).
func goldenFile(t *testing.T, dir, name, got string) {
	t.Helper()
	abs, _ := filepath.Abs(dir)
	got = strings.ReplaceAll(got, abs, "$TREE")
	path := filepath.Join(dir, "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/kprewrite -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
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
	patches, _ := filepath.Glob("../../testdata/kernels/*/patches/*.patch")
	for _, pf := range patches {
		dir := filepath.Dir(filepath.Dir(pf))
		name := filepath.Base(pf)
		t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
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

// TestBitfieldCases checks what the bitfield transform decides for each
// case of the flags tree, and proves every rewrite with verify.
func TestBitfieldCases(t *testing.T) {
	dir := "../../testdata/kernels/flags"
	proof := "exactly where the upstream compiler puts the member"
	runCases(t, dir, []string{"--format", "json", "--strategy", "bitfield"}, []caseRun{
		{patch: "01-one-bit.patch", resolved: true, proof: proof},
		{patch: "02-full-unit.patch", why: "no spare bits: the upstream change moves duplex"},
		{patch: "03-two-bits.patch", resolved: true, proof: proof},
		{patch: "04-signed.patch", resolved: true, proof: proof},
		{patch: "05-u32-unit.patch", resolved: true, proof: proof},
		{patch: "06-ifdef-run.patch", resolved: true, proof: proof},
		{patch: "07-address.patch", why: "the member's address or storage is used"},
	})
	// Without a config the position of the bit after an #ifdef'd member is
	// not known: refused, saying so.
	t.Run("06 without config", func(t *testing.T) {
		code, _, errs := kp(t, "rewrite", "--strategy", "bitfield", "--tree", dir, "-o", filepath.Join(t.TempDir(), "o.patch"), filepath.Join(dir, "patches/06-ifdef-run.patch"))
		if code != exitNeedsHuman || !strings.Contains(errs, "the bit position depends on the config (stats_on is under #if defined(CONFIG_PORT_STATS))") {
			t.Errorf("exit %d:\n%s", code, errs)
		}
	})
	// Without a config the C layout rules place a u8 bit, but the uses
	// cannot be found type-exactly without the compiler: refused, saying both.
	t.Run("01 without config", func(t *testing.T) {
		code, _, errs := kp(t, "rewrite", "--strategy", "bitfield", "--tree", dir, "-o", filepath.Join(t.TempDir(), "o.patch"), filepath.Join(dir, "patches/01-one-bit.patch"))
		if code != exitNeedsHuman || !strings.Contains(errs, "fits in bit 3 of the unit at offsetofend(struct port, id) (placed by the C layout rules") ||
			!strings.Contains(errs, "give --config") {
			t.Errorf("exit %d:\n%s", code, errs)
		}
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

// caseRun rewrites one patch of a miniature tree and, when it resolves,
// proves the result with verify.
type caseRun struct {
	patch    string
	resolved bool
	why      string // part of the refusal when not resolved
	proof    string // part of verify's output when resolved
}

func runCases(t *testing.T, dir string, extra []string, cases []caseRun) {
	for _, c := range cases {
		t.Run(c.patch, func(t *testing.T) {
			pf := filepath.Join(dir, "patches", c.patch)
			out := filepath.Join(t.TempDir(), "out.patch")
			args := append(append(append([]string{"rewrite"}, treeArgs(dir)...), extra...), "-o", out, pf)
			code, _, errs := kp(t, args...)
			if code == exitBadInput {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if c.resolved != (code == exitOK) {
				t.Fatalf("exit %d, resolved want %v:\n%s", code, c.resolved, errs)
			}
			if !c.resolved {
				if !strings.Contains(errs, c.why) {
					t.Errorf("refusal does not say %q:\n%s", c.why, errs)
				}
				return
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

func TestStructextCases(t *testing.T) {
	runCases(t, "../../testdata/kernels/ext", []string{"--strategy", "structext"}, []caseRun{
		{patch: "01-stack.patch", resolved: true, proof: "every function the upstream patch changes is changed by the rewritten patch"},
		{patch: "02-kmalloc.patch", resolved: true, proof: "every function the upstream patch changes is changed by the rewritten patch"},
		{patch: "03-embedded.patch", why: "include/linux/evt.h:33 embedded (embedded in another struct (stat))"},
		{patch: "04-array.patch", why: "kernel/evt.c:11 array (an array of the struct)"},
		{patch: "05-copy.patch", why: "kernel/evt.c:61 copy (the struct is used as a value"},
	})
	// The seed notifier case: the creation site outside the upstream patch
	// (netdev_upper_dev_unlink) joins the rewritten patch.
	t.Run("seed creation site outside the patch", func(t *testing.T) {
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

// TestHoleShadowCases: a bool in a hole of a kzalloc'd struct; the same
// kind of member in a struct that is copied by value (shadow instead); a
// spinlock (shadow with a constructor); a counter written in interrupt
// context; a struct with create and destroy functions (alloc and free
// inserted); both dialects.
func TestHoleShadowCases(t *testing.T) {
	dir := "../../testdata/kernels/conn"
	proven := "PROVEN"
	runCases(t, dir, nil, []caseRun{
		{patch: "01-hole-bool.patch", resolved: true, proof: proven},
		{patch: "02-copied.patch", resolved: true, proof: proven},
		{patch: "03-spinlock.patch", resolved: true, proof: proven},
		{patch: "04-irq-counter.patch", resolved: true, proof: proven},
		{patch: "05-lifecycle.patch", resolved: true, proof: proven},
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
	expect := func(t *testing.T, text string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("missing %q in:\n%s", w, text)
			}
		}
	}
	t.Run("hole for a zeroed struct", func(t *testing.T) {
		out, rep := rewriteOut(t, "01-hole-bool.patch")
		expect(t, rep, "rewritten by hole", "every object starts zeroed (net/conn/conn_core.c:14 heap in conn_create (kzalloc)")
		expect(t, out, "#define CONN_CLOSING_OFFSET\toffsetofend(struct conn, port)", "static_assert(CONN_CLOSING_OFFSET + sizeof(bool) <= offsetof(struct conn, bytes));")
	})
	t.Run("copied struct goes to shadow", func(t *testing.T) {
		_, rep := rewriteOut(t, "02-copied.patch")
		expect(t, rep, "hole: not every object starts zeroed, or the struct is copied", "rewritten by shadow")
	})
	t.Run("spinlock with constructor, alloc and free", func(t *testing.T) {
		out, _ := rewriteOut(t, "03-spinlock.patch")
		expect(t, out, "\tspin_lock_init(v);\n", "\tklp_shadow_free(c, CONN_STATS_LOCK_SHADOW_ID, NULL);\n \tkfree(c);",
			"klp_shadow_alloc(c, CONN_STATS_LOCK_SHADOW_ID, sizeof(spinlock_t),\n+\t\t\t GFP_KERNEL, conn_stats_lock_ctor, NULL);",
			"spin_lock(conn_stats_lock_ptr(c, GFP_ATOMIC));", "KLP_POST_UNPATCH_CALLBACK(kprewrite_free_shadows);", "#include <linux/spinlock.h>")
	})
	t.Run("irq counter", func(t *testing.T) {
		_, rep := rewriteOut(t, "04-irq-counter.patch")
		expect(t, rep, "GFP_ATOMIC at net/conn/conn_irq.c:8 (in an interrupt handler)", "the write is dropped")
	})
	t.Run("kpatch dialect", func(t *testing.T) {
		out, _ := rewriteOut(t, "05-lifecycle.patch", "--dialect", "kpatch")
		expect(t, out, "#include \"kpatch-macros.h\"", "KPATCH_POST_UNPATCH_CALLBACK(kprewrite_free_shadows);", "klp_shadow_free_all(CONN_ERRORS_SHADOW_ID, NULL);")
	})
	t.Run("shadow id override", func(t *testing.T) {
		out, _ := rewriteOut(t, "02-copied.patch", "--shadow-id", "struct sess.closed=0x4242")
		expect(t, out, "#define SESS_CLOSED_SHADOW_ID\t0x4242UL")
	})
}

// TestSyscallDialects checks the syscall transform's macro and header in
// both dialects, and its refusal on a kernel that is not x86_64.
func TestSyscallDialects(t *testing.T) {
	dir := "../../testdata/kernels/sys"
	pf := filepath.Join(dir, "patches", "01-define2.patch")
	arm := filepath.Join(t.TempDir(), "arm64.config")
	os.WriteFile(arm, []byte("CONFIG_64BIT=y\nCONFIG_ARM64=y\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"klp", treeArgs(dir), []string{"+KLP_SYSCALL_DEFINE2(sethostname,", "+#include <linux/livepatch_helpers.h>"}},
		{"kpatch", append(treeArgs(dir), "--dialect", "kpatch"), []string{"+KPATCH_SYSCALL_DEFINE2(sethostname,", "+#include \"kpatch-syscall.h\""}},
		{"arm64", []string{"--tree", dir, "--config", arm}, []string{" SYSCALL_DEFINE2(sethostname,", "manual: move the change into a helper function"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.patch")
			rep := filepath.Join(t.TempDir(), "report.txt")
			args := append(append([]string{"rewrite"}, c.args...), "-o", out, "--report", rep, pf)
			if code, _, errs := kp(t, args...); code == exitBadInput {
				t.Fatalf("exit %d: %s", code, errs)
			}
			got := readFile(t, out) + readFile(t, rep)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestHeader2cCases proves every header2c case of the hdr tree with verify,
// and checks the blast-radius limit and the file the config does not build.
func TestHeader2cCases(t *testing.T) {
	dir := "../../testdata/kernels/hdr"
	runCases(t, dir, nil, []caseRun{
		{patch: "01-inline-two-objects.patch", resolved: true, proof: "PROVEN"},
		{patch: "02-macro-chain.patch", resolved: true, proof: "PROVEN"},
		{patch: "03-new-helper-macro.patch", resolved: true, proof: "PROVEN"},
		// the prototype moves; the __init caller is left to the engineer
		{patch: "04-new-prototype.patch", why: "__init code already ran"},
	})
	t.Run("unbuilt user left alone", func(t *testing.T) {
		code, _, errs := kp(t, append(append([]string{"rewrite"}, treeArgs(dir)...), "-o", filepath.Join(t.TempDir(), "o.patch"), filepath.Join(dir, "patches/01-inline-two-objects.patch"))...)
		if code != exitOK || !strings.Contains(errs, "not built under this config and left alone: drivers/legacy/legacy.c") {
			t.Errorf("exit %d:\n%s", code, errs)
		}
	})
	t.Run("too many users refused", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "o.patch")
		code, _, errs := kp(t, append(append([]string{"rewrite", "--max-users", "1"}, treeArgs(dir)...), "-o", out, filepath.Join(dir, "patches/01-inline-two-objects.patch"))...)
		if code != exitNeedsHuman || !strings.Contains(errs, "header2c: the change reaches 2 .c files, more than --max-users 1: drivers/ringdev/ringdev.c, kernel/ring.c") {
			t.Errorf("exit %d:\n%s", code, errs)
		}
		if strings.Contains(readFile(t, out), "hdr_ring_used") {
			t.Errorf("refused, yet the header definition was moved")
		}
	})
}

// TestVerifyFtrace: a changed function must have an ftrace entry, or its
// livepatch does not load. ring_tail in the hdr tree is notrace.
func TestVerifyFtrace(t *testing.T) {
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
