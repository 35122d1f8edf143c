package syscall_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/transforms"
)

// A klp rewrite of a tree without linux/livepatch_helpers.h (a kernel
// older than klp-build) would not compile: the syscall is refused with the
// way out (--dialect kpatch), not resolved.
func TestKLPWithoutHelpersRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(rewritetest.TreeDir(t, "sys"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "include/linux/livepatch_helpers.h")); err != nil {
		t.Fatal(err)
	}
	p := rewritetest.ReadPatch(t, "testdata/define2/input.patch")
	s := rewritetest.Load(t, rewritetest.Env(t, dir, filepath.Join(dir, "config")), p, rewrite.Options{Dialect: "klp"})
	if err := s.Run(transforms.All()); err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Findings() {
		if f.Subject != "sys_sethostname" || f.Kind != "syscall" {
			continue
		}
		if f.Resolved || !strings.Contains(strings.Join(f.Tried, "\n"), "no include/linux/livepatch_helpers.h") {
			t.Errorf("sys_sethostname on a tree without livepatch_helpers.h: resolved %v, tried %q", f.Resolved, f.Tried)
		}
		return
	}
	t.Fatal("no syscall finding for sys_sethostname")
}
