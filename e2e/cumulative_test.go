package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kprewrite/kprewrite/internal/realcases"
)

// cumulativeSetup runs before livepatch 1 loads: the slave the checks
// read exists before any livepatch.
const cumulativeSetup = "echo +dummy0 > /sys/class/net/bond0/bonding/slaves"

// cumulativeScript runs after livepatch 1 (the harness loads it): the
// slave enslaved before the load is shown three times under livepatch 1
// (its count lives in a shadow variable), then cumulative livepatch 2
// replaces livepatch 1 (atomic replace) and the slave is shown twice more
// under livepatch 2's capped count. On the kernel built with both fixes
// the same reads give the same counts from boot; had the replacement lost
// livepatch 1's counts, livepatch 2 would count from 0 again. The
// KPREWRITE-INFO lines say what happened to the livepatches; they are not
// compared. The harness's leak check then disables livepatch 2 (its
// post-unpatch callback frees the shadows).
const cumulativeScript = `shown() { grep "Times shown" /proc/net/bonding/bond0 | head -1 | awk '{print $3}'; }
cat /proc/net/bonding/bond0 >/dev/null
cat /proc/net/bonding/bond0 >/dev/null
a=$(shown)
[ -n "$a" ] && check "third show: $a" || check "no Times shown"
if [ -f /mods/livepatch-cum2.ko ]; then
	if insmod /mods/livepatch-cum2.ko; then
		i=0
		while [ "$(cat /sys/kernel/livepatch/livepatch_cum2/transition)" != 0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done
		sleep 1
		echo "KPREWRITE-INFO: livepatch 2: enabled=$(cat /sys/kernel/livepatch/livepatch_cum2/enabled) transition=$(cat /sys/kernel/livepatch/livepatch_cum2/transition); livepatches left: $(ls /sys/kernel/livepatch | tr '\n' ' ')"
	else
		echo "KPREWRITE-INFO: livepatch 2: load failed"
	fi
fi
cat /proc/net/bonding/bond0 >/dev/null
b=$(shown)
[ -n "$a" ] && check "fifth show: $b"
if [ -d /sys/kernel/livepatch/livepatch_cum2 ]; then
	rmmod livepatch_cum1 && echo "KPREWRITE-INFO: the replaced livepatch 1 is unloaded" || echo "KPREWRITE-INFO: livepatch 1 cannot be unloaded"
fi`

// cumulativeTeardown runs before the leak check disables livepatch 2: a
// slave enslaved, shown and released under it, whose shadow livepatch 2
// must free when the slave goes. The slave enslaved before the load keeps
// its shadow until the disable.
const cumulativeTeardown = `echo +dummy1 > /sys/class/net/bond0/bonding/slaves
cat /proc/net/bonding/bond0 >/dev/null
echo -dummy1 > /sys/class/net/bond0/bonding/slaves`

var infoRE = regexp.MustCompile(`(?m)^KPREWRITE-INFO: (.*?)\r?$`)

// TestCumulative: the two-patch series "shown" (internal/realcases):
// kprewrite series --cumulative writes cumulative livepatches 1 and 1+2;
// klp-build builds both; the base kernel boots in QEMU with a slave
// enslaved, loads livepatch 1, which counts the slave's shows in a shadow
// variable, then livepatch 2, which replaces livepatch 1 (atomic replace)
// and caps the count: the count survives the replacement and the
// behaviour equals the kernel built with both upstream patches.
func TestCumulative(t *testing.T) {
	e := klpSetup(t)
	src, klp, boot, cache, version := e.src, e.tree, e.boot, e.cache, e.version
	work := filepath.Join(cache, "last-run-cumulative")
	kp := freshWork(t, work)
	s := realcases.SeriesByName("shown")
	in := filepath.Join(work, "upstream")
	os.MkdirAll(in, 0o755)
	m, err := s.Materialize(src, in)
	if err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	for _, p := range m.Patches {
		list.WriteString(filepath.Base(p) + "\n")
	}
	seriesFile := filepath.Join(in, "series")
	os.WriteFile(seriesFile, []byte(list.String()), 0o644)
	restore(t, klp, src, m.Files)
	defer restore(t, klp, src, m.Files)
	var times []string
	stamp := func(what string, start time.Time) {
		times = append(times, fmt.Sprintf("%s %.0fs", what, time.Since(start).Seconds()))
	}
	lines := []string{"[FAIL] cumulative (shown: " + strings.Join(stepSubjects(s), " / ") + ")"}
	add := func(what, v string) { lines = append(lines, fmt.Sprintf("    %-36s %s", what+":", v)) }
	defer func() {
		add("times", strings.Join(times, ", "))
		if !t.Failed() {
			lines[0] = strings.Replace(lines[0], "[FAIL]", "[PASS]", 1)
		}
		fmt.Print("\nEnd-to-end proof: cumulative livepatches (atomic replace) -> klp-build -> QEMU\n\n" + strings.Join(lines, "\n") + "\n\n")
	}()

	// 1. kprewrite series --cumulative on the klp tree (the real-tree
	// test in cmd/kprewrite runs it with --verify on linux-source-6.1;
	// here klp-build and the machine are the proof)
	out := filepath.Join(work, "lp")
	start := time.Now()
	cmd := exec.Command(kp, "series", "--cumulative", "--tree", klp, "--out", out, "--report", filepath.Join(work, "report.txt"), seriesFile)
	vout, err := cmd.CombinedOutput()
	stamp("series --cumulative", start)
	os.WriteFile(filepath.Join(work, "series.txt"), vout, 0o644)
	if err != nil {
		rep, _ := os.ReadFile(filepath.Join(work, "report.txt"))
		t.Fatalf("kprewrite series --cumulative: %v\n%s\n%s", err, rep, tail(string(vout), 40))
	}
	add("kprewrite series --cumulative", "exit 0, cumulative-01.patch and cumulative-02.patch")
	rep, _ := os.ReadFile(filepath.Join(work, "report.txt"))
	if i := strings.Index(string(rep), "keeps: "); i >= 0 {
		add("report: livepatch 2 replacing 1", strings.SplitN(string(rep[i:]), "\n", 2)[0])
	}

	// 2. klp-build on both cumulative patches
	var kos [2]string
	for i := range kos {
		start = time.Now()
		ko, msg := klpBuild(t, klp, cache, filepath.Join(out, fmt.Sprintf("cumulative-%02d.patch", i+1)), filepath.Join(work, fmt.Sprintf("livepatch-cum%d.ko", i+1)))
		stamp(fmt.Sprintf("klp-build %d", i+1), start)
		add(fmt.Sprintf("klp-build on cumulative-%02d.patch", i+1), msg)
		if ko == "" {
			t.Fatalf("klp-build refused cumulative-%02d.patch: %s", i+1, msg)
		}
		kos[i] = ko
	}

	// 3. the kernel built with both upstream patches
	start = time.Now()
	upKernel, upMods, err := upstreamKernel(t, klp, cache, version, m.Cumulative, "shown")
	stamp("upstream build", start)
	if err != nil {
		t.Fatal(err)
	}

	// 4. boots
	run := bootIn(t, context.Background(), work, stamp)
	baseMods := []string{filepath.Join(boot, "bonding.ko"), filepath.Join(boot, "dummy.ko")}
	machine := func(kernel string, mods []string, livepatch string) *Boot {
		return &Boot{Kernel: kernel, Modules: mods, Livepatch: livepatch, Setup: cumulativeSetup, Script: cumulativeScript,
			LeakCheck: true, Teardown: cumulativeTeardown}
	}
	unpatched := run("unpatched", machine(filepath.Join(boot, "bzImage"), baseMods, ""))
	lp := run("livepatched", machine(filepath.Join(boot, "bzImage"), append(baseMods, kos[1]), kos[0]))
	upstream := run("upstream-built", machine(upKernel, upMods, ""))
	got, want, none := strings.Join(lp.Checks, "; "), strings.Join(upstream.Checks, "; "), strings.Join(unpatched.Checks, "; ")
	load := "ok"
	if lp.LoadError != "" {
		load = lp.LoadError
	}
	add("livepatch 1 load / transition", load+" / "+lp.Transition)
	var info []string
	for _, mm := range infoRE.FindAllStringSubmatch(lp.Console, -1) {
		info = append(info, strings.TrimSpace(mm[1]))
	}
	add("livepatched run", strings.Join(info, "; "))
	add("behaviour, unpatched kernel", none)
	add("behaviour, livepatch 1 then 2", got)
	add("behaviour, upstream-built kernel", want)
	add("leaks, livepatched", lp.Leaks.Summary())
	add("leaks, unpatched / upstream-built", "kmemleak "+fmt.Sprint(len(unpatched.Leaks.Kmemleak))+" / "+fmt.Sprint(len(upstream.Leaks.Kmemleak))+" objects")
	// The slave enslaved before the loads has its shadow (created by
	// livepatch 1, kept by livepatch 2); the slave enslaved and released
	// under livepatch 2 has none left.
	if lp.Leaks.ShadowsEnabled != 1 {
		t.Errorf("%d klp shadow variables live under livepatch 2 after the teardown, want 1 (dummy0's)\n%s", lp.Leaks.ShadowsEnabled, leakSites(lp.Console))
	}
	for _, p := range lp.Leaks.Problems(unpatched.Leaks) {
		t.Errorf("leak check: %s", p)
	}
	switch {
	case lp.LoadError != "":
		t.Errorf("livepatch 1 did not load: %s\n%s", lp.LoadError, tail(lp.Console, 30))
	case lp.Enabled != "1" || lp.Transition != "0":
		t.Errorf("livepatch 1 enabled=%s transition=%s", lp.Enabled, lp.Transition)
	case len(info) == 0 || info[0] != "livepatch 2: enabled=1 transition=0; livepatches left: livepatch_cum2":
		t.Errorf("livepatch 2 did not replace livepatch 1: %v\n%s", info, tail(lp.Console, 30))
	case got != want:
		t.Errorf("behaviour differs:\n  livepatched:    %s\n  upstream-built: %s", got, want)
	case none == want:
		t.Errorf("the check does not tell the unpatched kernel apart: %s", none)
	}
}

func stepSubjects(s *realcases.Series) []string {
	var out []string
	for _, c := range s.Steps {
		out = append(out, c.Subject)
	}
	return out
}
