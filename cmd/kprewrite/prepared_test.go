package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/internal/realkernel"
	"github.com/kprewrite/kprewrite/kbuild"
)

// preparedBuild returns an O= directory of the real tree configured with
// the distribution config named by $KPREWRITE_DISTRO_CONFIG (Debian's
// /usr/src/linux-config-6.1/config.amd64_none_amd64.xz from the
// linux-config-6.1 package) and prepared with "make olddefconfig prepare
// modules_prepare", without a full build: the usual state of a CI job. It
// is made once (about two minutes) in kprewrite's cache and reused. The
// test is skipped without the variable. $KPREWRITE_PREPARED_BUILD names
// such a directory made beforehand instead.
func preparedBuild(t *testing.T, src string) string {
	t.Helper()
	if dir := os.Getenv("KPREWRITE_PREPARED_BUILD"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "vmlinux")); err == nil {
			t.Fatalf("KPREWRITE_PREPARED_BUILD=%s holds a complete build, not a prepared one", dir)
		}
		return dir
	}
	cfgPath := os.Getenv("KPREWRITE_DISTRO_CONFIG")
	if cfgPath == "" {
		t.Skip("KPREWRITE_DISTRO_CONFIG is not set (a distribution .config, e.g. /usr/src/linux-config-6.1/config.amd64_none_amd64.xz)")
	}
	var cfg []byte
	var err error
	if strings.HasSuffix(cfgPath, ".xz") {
		cfg, err = exec.Command("xz", "-dc", cfgPath).Output()
	} else {
		cfg, err = os.ReadFile(cfgPath)
	}
	if err != nil {
		t.Fatalf("reading %s: %v", cfgPath, err)
	}
	h := sha256.Sum256(append([]byte(src+"\x00"), cfg...))
	dir := filepath.Join(kbuild.DefaultCacheDir(), "prepared", hex.EncodeToString(h[:])[:16])
	done := filepath.Join(dir, ".kprewrite-prepared")
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".config"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("preparing %s (make olddefconfig prepare modules_prepare, about two minutes)", dir)
	out, err := exec.Command("make", "-C", src, "O="+dir, "-j2", "olddefconfig", "prepare", "modules_prepare").CombinedOutput()
	if err != nil {
		t.Fatalf("make prepare: %v\n%s", err, out[max(0, len(out)-2000):])
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPreparedTree rewrites header changes on the real tree with a
// distribution config and a prepared, not built, O= directory: header
// users come from the Makefiles and the textual include graph, and each
// file's command is learned by a make run.
func TestPreparedTree(t *testing.T) {
	src, _ := realkernel.Tree(t)
	build := preparedBuild(t, src)
	config := filepath.Join(build, ".config")

	// A changed inline of arch/x86/events/perf_event.h, which includes the
	// "perf_event_flags.h" next to it: the compiler must find its users
	// (core.c, amd/core.c, intel/core.c, zhaoxin/core.c, directly or through
	// __x86_pmu_enable_event), not drop them because the changed header
	// cannot find its sibling. intel/core.c puts x86_pmu_disable_event, an
	// inline that calls it, in its x86_pmu table: moving it would change
	// that data, so header2c refuses, naming the place; the change is then
	// proven to change no code the config builds (callers use the value as
	// a truth value), and the header hunk is dropped.
	t.Run("perf inline", func(t *testing.T) {
		pf := realkernel.NewEdits(t, src).
			Replace("arch/x86/events/perf_event.h", "\treturn hwc->flags & PERF_X86_EVENT_PAIR;\n", "\treturn !!(hwc->flags & PERF_X86_EVENT_PAIR);\n").
			WritePatch("perf/x86: is_counter_pair returns a bool")
		out := filepath.Join(t.TempDir(), "out.patch")
		code, _, errs := kp(t, "rewrite", "--tree", src, "--config", config, "-o", out, pf)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if !strings.Contains(errs, "used at file scope, in data: arch/x86/events/intel/core.c") {
			t.Errorf("header2c did not find intel/core.c's use of the inline in data:\n%s", errs)
		}
		if !strings.Contains(errs, "rewritten by samecode") {
			t.Errorf("the change is not proven a no-op:\n%s", errs)
		}
		got, _ := os.ReadFile(out)
		if strings.Contains(string(got), "+++ b/arch/x86/events/perf_event.h") {
			t.Errorf("the header hunk stayed")
		}
	})

	// A changed inline of block/blk.h that block/blk-iolatency.c redefines:
	// the config does not build blk-iolatency.c, which must be left out
	// (not compiled: it would fail), and blk-cgroup.c rewritten.
	t.Run("blk inline the config does not build", func(t *testing.T) {
		pf := realkernel.NewEdits(t, src).
			Replace("block/blk.h", "static inline int blk_iolatency_init(struct gendisk *disk) { return 0; };\n",
				"static inline int blk_iolatency_init(struct gendisk *disk)\n{\n\tpr_debug(\"%s: no io latency controller\\n\", disk->disk_name);\n\treturn 0;\n}\n").
			WritePatch("block: say when there is no io latency controller")
		out := filepath.Join(t.TempDir(), "out.patch")
		rep := filepath.Join(t.TempDir(), "report.txt")
		code, _, errs := kp(t, "rewrite", "--tree", src, "--config", config, "-o", out, "--report", rep, pf)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		got, _ := os.ReadFile(out)
		report, _ := os.ReadFile(rep)
		if !strings.Contains(string(got), "+++ b/block/blk-cgroup.c\n") || strings.Contains(string(got), "blk-iolatency.c") {
			t.Errorf("rewrite:\n%s", got)
		}
		if !strings.Contains(string(report), "not built under this config and left alone: block/blk-iolatency.c") {
			t.Errorf("report does not leave blk-iolatency.c out:\n%s", report)
		}
	})
}
