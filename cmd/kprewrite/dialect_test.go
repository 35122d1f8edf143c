package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies a miniature tree to a temporary directory.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("../../testdata/kernels", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestDialectAuto: the dialect comes from the tree (issue 13 item 5): klp
// when it has scripts/livepatch/klp-build, kpatch otherwise, and the
// report says which and why.
func TestDialectAuto(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		klpBuild bool
		want     []string
	}{
		{"klp-build present", true, []string{"+KLP_SYSCALL_DEFINE2(sethostname,", "+#include <linux/livepatch_helpers.h>",
			"Livepatch glue: klp dialect (the tree has scripts/livepatch/klp-build)."}},
		{"no klp-build", false, []string{"+KPATCH_SYSCALL_DEFINE2(sethostname,", "+#include \"kpatch-syscall.h\"",
			"Livepatch glue: kpatch dialect (the tree has no scripts/livepatch/klp-build (a kernel before 6.19): kpatch-build)."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := copyTree(t, "sys")
			if !c.klpBuild {
				os.RemoveAll(filepath.Join(tr, "scripts"))
			}
			out := filepath.Join(t.TempDir(), "out.patch")
			rep := filepath.Join(t.TempDir(), "report.txt")
			code, _, errs := kp(t, "rewrite", "--cache", t.TempDir(), "--tree", tr, "--config", filepath.Join(tr, "config"), "-o", out, "--report", rep, filepath.Join(tr, "patches/01-define2.patch"))
			if code != exitOK {
				t.Fatalf("exit %d:\n%s", code, errs)
			}
			got := readFile(t, out) + readFile(t, rep)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
		})
	}
	code, _, errs := kp(t, "rewrite", "--dialect", "bogus", "--tree", "../../testdata/kernels/sys", "../../testdata/kernels/sys/patches/01-define2.patch")
	if code != exitBadInput || !strings.Contains(errs, "--dialect must be auto, klp or kpatch") {
		t.Errorf("bogus dialect: exit %d:\n%s", code, errs)
	}
}

// TestVerifyGlueHeaders: verify compiles the glue against what the chosen
// builder provides (issue 13 item 5). The klp dialect on a tree without
// livepatch_helpers.h fails (before, kprewrite's own copy made it pass);
// the kpatch dialect uses kpatch's own headers when its source is known,
// else the bundled copies, and says which.
func TestVerifyGlueHeaders(t *testing.T) {
	pf := "patches/05-lifecycle.patch" // shadow with a post-unpatch callback
	rewriteVerify := func(t *testing.T, tr string, extra ...string) (int, string) {
		args := append([]string{"rewrite", "--verify", "--cache", t.TempDir(), "--tree", tr, "--config", filepath.Join(tr, "config"),
			"-o", filepath.Join(t.TempDir(), "out.patch")}, extra...)
		code, vout, verrs := kp(t, append(args, filepath.Join(tr, pf))...)
		return code, vout + verrs
	}
	t.Run("klp without livepatch_helpers.h", func(t *testing.T) {
		tr := copyTree(t, "conn")
		os.Remove(filepath.Join(tr, "include/linux/livepatch_helpers.h"))
		code, out := rewriteVerify(t, tr, "--dialect", "klp")
		if code != exitNeedsHuman || !strings.Contains(out, "the klp glue needs include/linux/livepatch_helpers.h, which this tree does not have") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("klp with the tree's header", func(t *testing.T) {
		code, out := rewriteVerify(t, copyTree(t, "conn"))
		if code != exitOK || !strings.Contains(out, "klp glue compiled against the tree's own include/linux/livepatch_helpers.h") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("kpatch bundled", func(t *testing.T) {
		t.Setenv("KPREWRITE_KPATCH_SRC", "")
		tr := copyTree(t, "conn")
		t.Chdir(t.TempDir()) // no shared/vendor above
		code, out := rewriteVerify(t, tr, "--dialect", "kpatch")
		if code != exitOK || !strings.Contains(out, "kpatch glue compiled against kprewrite's bundled copies of kpatch-macros.h and kpatch-syscall.h") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("kpatch's own headers", func(t *testing.T) {
		// a kpatch source whose kpatch-macros.h cannot be mistaken for the
		// bundled copy: the compile must see it
		src := t.TempDir()
		for name, text := range map[string]string{
			"kmod/patch/kpatch-macros.h":  "#error \"kpatch's own kpatch-macros.h\"\n",
			"kmod/patch/kpatch-syscall.h": "\n",
			"kmod/core/kpatch.h":          "\n",
		} {
			os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755)
			os.WriteFile(filepath.Join(src, name), []byte(text), 0o644)
		}
		t.Setenv("KPREWRITE_KPATCH_SRC", src)
		code, out := rewriteVerify(t, copyTree(t, "conn"), "--dialect", "kpatch")
		if code != exitNeedsHuman || !strings.Contains(out, "kpatch's own kpatch-macros.h") || !strings.Contains(out, "kpatch glue compiled against kpatch's own kmod/patch headers (from "+src) {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
}
