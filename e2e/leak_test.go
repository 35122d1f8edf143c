package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// leakConsole is the end of a livepatched machine's console with the leak
// check: one shadow live before the disable, none after, and kmemleak
// reporting a boot-time object and one the livepatch allocated (a kernel
// message printed in the middle of the report).
const leakConsole = `[    1.77] livepatch: enabling patch 'livepatch_cum1'
[    1.91] livepatch: enabling patch 'livepatch_cum2'
KPREWRITE-LEAK-SITE: 1 __klp_shadow_get_or_alloc+0x7c/0x140 age=5123 pid=1
KPREWRITE-LEAK: shadows-enabled=1` + "\r" + `
KPREWRITE-LEAK: still-enabled=
KPREWRITE-LEAK: shadows=0
KPREWRITE-KMEMLEAK-BEGIN
unreferenced object 0xffff888003a4c000 (size 64):
  comm "swapper/0", pid 1, jiffies 4294667296
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 0):
    __kmalloc_cache_noprof+0x1e4/0x2d0
    acpi_boot_init+0x10/0x20
[   20.12] random: crng init done
unreferenced object 0xffff888003a4d000 (size 32):
  comm "cat", pid 80, jiffies 4294669000
  hex dump (first 32 bytes):
    01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 5a1b2c3d):
    __kmalloc_cache_noprof+0x1e4/0x2d0
    bond_info_seq_show+0x33/0x90 [livepatch_cum2]
    seq_read_iter+0x100/0x400
KPREWRITE-KMEMLEAK-END
KPREWRITE-DONE
`

func TestParseLeaks(t *testing.T) {
	got, err := parseLeaks(leakConsole)
	if err != nil {
		t.Fatal(err)
	}
	want := &Leaks{
		Livepatches:    []string{"livepatch_cum1", "livepatch_cum2"},
		ShadowsEnabled: 1,
		Shadows:        0,
		Kmemleak: []LeakReport{
			{Object: "unreferenced object 0xffff888003a4c000 (size 64):", Comm: `comm "swapper/0", pid 1, jiffies 4294667296`,
				Backtrace: []string{"__kmalloc_cache_noprof+0x1e4/0x2d0", "acpi_boot_init+0x10/0x20"}},
			{Object: "unreferenced object 0xffff888003a4d000 (size 32):", Comm: `comm "cat", pid 80, jiffies 4294669000`,
				Backtrace: []string{"__kmalloc_cache_noprof+0x1e4/0x2d0", "bond_info_seq_show+0x33/0x90 [livepatch_cum2]", "seq_read_iter+0x100/0x400"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseLeaks (-want +got):\n%s", diff)
	}
	if s, w := got.Kmemleak[1].Signature(), "__kmalloc_cache_noprof < bond_info_seq_show [livepatch_cum2] < seq_read_iter"; s != w {
		t.Errorf("signature %q, want %q", s, w)
	}
}

func TestParseLeaksNeedsTheMarkers(t *testing.T) {
	for name, console := range map[string]string{
		"no counts":   "KPREWRITE-KMEMLEAK-BEGIN\nKPREWRITE-KMEMLEAK-END\n",
		"no kmemleak": "KPREWRITE-LEAK: shadows-enabled=0\nKPREWRITE-LEAK: shadows=0\nKPREWRITE-LEAK: kmemleak unavailable\n",
	} {
		if _, err := parseLeaks(console); err == nil {
			t.Errorf("%s: parseLeaks accepted a console without the leak check's output", name)
		}
	}
}

func TestLeakProblems(t *testing.T) {
	lp, err := parseLeaks(leakConsole)
	if err != nil {
		t.Fatal(err)
	}
	// The unpatched machine reports the boot-time object too: only the
	// livepatch's object is a problem.
	unpatched := &Leaks{Kmemleak: lp.Kmemleak[:1]}
	got := lp.Problems(unpatched)
	want := []string{"kmemleak: unreferenced object 0xffff888003a4d000 (size 32): allocated by the livepatch: " +
		"__kmalloc_cache_noprof < bond_info_seq_show [livepatch_cum2] < seq_read_iter"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Problems (-want +got):\n%s", diff)
	}
	// Against an unpatched machine that reported nothing, the boot-time
	// object is new too; a shadow left after the disable and a livepatch
	// left enabled are problems.
	lp.Shadows, lp.StillEnabled = 2, "livepatch_cum2"
	got = lp.Problems(&Leaks{})
	want = []string{
		"livepatches still enabled after the disable: livepatch_cum2",
		"2 klp shadow variables live after every livepatch was disabled",
		want[0],
		"kmemleak: unreferenced object 0xffff888003a4c000 (size 64): not reported on the unpatched kernel: __kmalloc_cache_noprof < acpi_boot_init",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Problems (-want +got):\n%s", diff)
	}
	if s := lp.Summary(); !strings.Contains(s, "shadows 1 live with the livepatch enabled, 2 after disable; kmemleak 2 objects (1 allocated by the livepatch)") {
		t.Errorf("summary %q", s)
	}
}

func TestLeakReportFromLivepatch(t *testing.T) {
	lps := []string{"livepatch_cum2"}
	for _, c := range []struct {
		frames []string
		want   bool
	}{
		{[]string{"__kmalloc_noprof+0x1/0x2", "__klp_shadow_get_or_alloc+0x7c/0x140"}, true},
		{[]string{"__kmalloc_noprof+0x1/0x2", "0xffffffffc0001234"}, true}, // a module since unloaded
		{[]string{"__kmalloc_noprof+0x1/0x2", "foo+0x1/0x2 [livepatch_cum2]"}, true},
		{[]string{"__kmalloc_noprof+0x1/0x2", "bond_enslave+0x1/0x2 [bonding]"}, false},
	} {
		if got := (LeakReport{Backtrace: c.frames}).FromLivepatch(lps); got != c.want {
			t.Errorf("FromLivepatch(%q) = %v, want %v", c.frames, got, c.want)
		}
	}
}

// TestBootBaseLeakCheck proves on the base kernel that the leak check sees
// what it claims to see, with the kernel's own shadow-variable samples
// (samples/livepatch): livepatch-shadow-mod allocates an object every
// second and leaks a second allocation with it; livepatch-shadow-fix1
// keeps that allocation in a klp shadow variable of each object and frees
// the shadows only when its module is removed, not when it is disabled.
// kmemleak must report the sample's leak, the shadow count must see the
// fix's shadows, and the check must flag the shadows the fix leaves after
// its disable. (Its name starts with TestBootBase so that CI's -run
// pattern includes it.)
func TestBootBaseLeakCheck(t *testing.T) {
	boot := klpSetup(t).boot
	mods := []string{filepath.Join(boot, "bonding.ko"), filepath.Join(boot, "dummy.ko"), filepath.Join(boot, "livepatch-shadow-mod.ko")}
	machine := func(livepatch string) *Leaks {
		b := &Boot{Kernel: filepath.Join(boot, "bzImage"), Modules: mods, Livepatch: livepatch,
			Setup: "insmod /mods/livepatch-shadow-mod.ko", Script: "sleep 3", LeakCheck: true}
		res, err := b.Run(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("booted in %.0fs: %s", res.Seconds, res.Leaks.Summary())
		return res.Leaks
	}
	leaky := machine("")
	var reported int
	for _, r := range leaky.Kmemleak {
		if r.FromLivepatch([]string{"livepatch_shadow_mod"}) {
			reported++
		}
	}
	if reported == 0 || leaky.ShadowsEnabled != 0 {
		t.Errorf("livepatch-shadow-mod alone: kmemleak reports %d of its objects, want some; %d shadows, want 0", reported, leaky.ShadowsEnabled)
	}
	fixed := machine(filepath.Join(boot, "livepatch-shadow-fix1.ko"))
	if fixed.ShadowsEnabled < 1 {
		t.Errorf("livepatch-shadow-fix1 enabled: %d live shadows counted, want at least 1", fixed.ShadowsEnabled)
	}
	if !slices.ContainsFunc(fixed.Problems(leaky), func(p string) bool {
		return strings.Contains(p, "klp shadow variables live after every livepatch was disabled")
	}) {
		t.Errorf("livepatch-shadow-fix1 disabled (its shadows are freed at rmmod): the check does not flag its %d shadows; problems %q", fixed.Shadows, fixed.Problems(leaky))
	}
}
