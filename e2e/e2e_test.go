package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kprewrite/kprewrite/internal/klpbuild"
	"github.com/kprewrite/kprewrite/internal/realcases"
)

// row is one line of the result table.
type row struct {
	name                     string
	klpUpstream, klpRewrite  string
	upstreamProof            string // what kprewrite verify says of the upstream patch
	load, transition         string
	livepatched, upstreamOut string
	upstreamLP, unpatched    string
	leaks                    string
	times                    string
	pass, ran                bool
}

// releaseLateSlaves is the teardown of TestEndToEnd's leak checks: the
// slaves a case's script enslaved under the livepatch are released under
// it, so their per-object state (a shadow variable) goes with them.
// dummy0, enslaved before the load, stays until the livepatch is
// disabled.
const releaseLateSlaves = `for s in $(cat /sys/class/net/bond0/bonding/slaves); do
	[ "$s" = dummy0 ] || echo "-$s" > /sys/class/net/bond0/bonding/slaves
done`

// TestEndToEnd: for each case, kprewrite rewrites the upstream patch and
// verify proves it; klp-build builds livepatches from the upstream and the
// rewritten patch; the base kernel boots in QEMU, creates objects, loads the
// rewritten livepatch, waits for the transition and runs the behaviour
// check, which must match a kernel built with the upstream patch and fail
// on the unpatched kernel. The unpatched and the livepatched machine end
// with the leak check (Boot.LeakCheck): after the livepatch is disabled no
// klp shadow variable is live and kmemleak reports nothing the livepatch
// allocated and nothing the unpatched machine does not report.
func TestEndToEnd(t *testing.T) {
	e := klpSetup(t)
	src, klp, boot, cache, version := e.src, e.tree, e.boot, e.cache, e.version
	// The last run stays for inspection: patches, reports, klp-build logs,
	// consoles.
	work := filepath.Join(cache, "last-run")
	kp := freshWork(t, work)
	baseMods := []string{filepath.Join(boot, "bonding.ko"), filepath.Join(boot, "dummy.ko")}
	ctx := context.Background()
	var rows []*row
	for _, name := range realcases.E2E {
		c := realcases.ByName(name)
		beh := Behaviour[name]
		r := &row{name: name}
		rows = append(rows, r)
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(work, name)
			os.MkdirAll(dir, 0o755)
			m, err := c.Materialize(src, dir)
			if err != nil {
				t.Fatal(err)
			}
			r.ran = true
			restore(t, klp, src, m.Files)
			defer restore(t, klp, src, m.Files)
			var times []string
			stamp := func(what string, start time.Time) {
				times = append(times, fmt.Sprintf("%s %.0fs", what, time.Since(start).Seconds()))
			}
			// 1. rewrite and verify on the klp tree (configured in place)
			rw := filepath.Join(dir, "rewritten.patch")
			start := time.Now()
			cmd := exec.Command(kp, "rewrite", "--verify", "--tree", klp, "-o", rw, "--report", filepath.Join(dir, "report.txt"), m.Patch)
			out, err := cmd.CombinedOutput()
			stamp("rewrite+verify", start)
			os.WriteFile(filepath.Join(dir, "verify.txt"), out, 0o644)
			r.upstreamProof = upstreamVerdict(string(out))
			if err != nil {
				rep, _ := os.ReadFile(filepath.Join(dir, "report.txt"))
				t.Fatalf("kprewrite rewrite --verify: %v\n%s\n%s", err, rep, out)
			}
			// 2. klp-build on both patches
			start = time.Now()
			upKO, upMsg := klpBuild(t, klp, cache, m.Patch, filepath.Join(dir, "livepatch-up-"+name+".ko"))
			stamp("klp-build upstream", start)
			r.klpUpstream = upMsg
			start = time.Now()
			rwKO, rwMsg := klpBuild(t, klp, cache, rw, filepath.Join(dir, "livepatch-kp-"+name+".ko"))
			stamp("klp-build rewritten", start)
			r.klpRewrite = rwMsg
			if rwKO == "" {
				t.Fatalf("klp-build refused the rewritten patch: %s", rwMsg)
			}
			// 3. the kernel built with the upstream patch
			start = time.Now()
			upKernel, upMods, err := upstreamKernel(t, klp, cache, version, m.Patch, name)
			stamp("upstream build", start)
			if err != nil {
				t.Fatal(err)
			}
			// 4. boots
			run := bootIn(t, ctx, dir, stamp)
			teardown := releaseLateSlaves
			if beh.Teardown != "" {
				teardown = beh.Teardown
			}
			unpatched := run("unpatched", &Boot{Kernel: filepath.Join(boot, "bzImage"), Modules: baseMods, Setup: beh.Setup, Script: beh.Script,
				LeakCheck: true, Teardown: teardown})
			lp := run("livepatched", &Boot{Kernel: filepath.Join(boot, "bzImage"), Modules: baseMods, Livepatch: rwKO, Setup: beh.Setup, Script: beh.Script,
				LeakCheck: true, Teardown: teardown})
			upstream := run("upstream-built", &Boot{Kernel: upKernel, Modules: upMods, Setup: beh.Setup, Script: beh.Script})
			r.livepatched = strings.Join(lp.Checks, "; ")
			r.upstreamOut = strings.Join(upstream.Checks, "; ")
			r.unpatched = strings.Join(unpatched.Checks, "; ")
			r.load, r.transition = "ok", lp.Transition
			if lp.LoadError != "" {
				r.load = lp.LoadError
			}
			if upKO != "" {
				// the upstream patch's own livepatch may well crash the
				// machine (a new lock read past every existing object):
				// that is the result to show, not a failure of the test
				ul, err := tryBootIn(ctx, dir, stamp)("upstream-livepatched", &Boot{Kernel: filepath.Join(boot, "bzImage"), Modules: baseMods, Livepatch: upKO, Setup: beh.Setup, Script: beh.Script})
				switch {
				case ul == nil:
					t.Fatalf("upstream-livepatched: %v", err)
				case err != nil:
					r.upstreamLP = "crashed: " + crashLine(ul.Console)
				case ul.LoadError != "":
					r.upstreamLP = ul.LoadError
				default:
					r.upstreamLP = strings.Join(ul.Checks, "; ")
				}
			}
			r.times = strings.Join(times, ", ")
			r.leaks = fmt.Sprintf("%s (unpatched: kmemleak %d objects)", lp.Leaks.Summary(), len(unpatched.Leaks.Kmemleak))
			leaks := lp.Leaks.Problems(unpatched.Leaks)
			for _, p := range leaks {
				t.Errorf("leak check: %s", p)
			}
			if len(leaks) > 0 {
				t.Logf("klp shadow call sites:\n%s", leakSites(lp.Console))
			}
			if l := complaint(lp.Console); l != "" {
				t.Errorf("the livepatched machine's kernel reported a bug: %s", l)
			}
			if i := strings.Index(lp.Console, "unpatching complete"); beh.Quiet != "" && (i < 0 || strings.Contains(lp.Console[i:], beh.Quiet)) {
				t.Errorf("%q on the console after the livepatch was disabled (or it never was): the livepatch's code ran after its disable", beh.Quiet)
			}
			switch {
			case lp.LoadError != "":
				t.Errorf("the rewritten livepatch did not load: %s\n%s", lp.LoadError, tail(lp.Console, 30))
			case lp.Enabled != "1" || lp.Transition != "0":
				t.Errorf("livepatch enabled=%s transition=%s", lp.Enabled, lp.Transition)
			case r.livepatched != r.upstreamOut:
				t.Errorf("behaviour differs:\n  livepatched:    %s\n  upstream-built: %s", r.livepatched, r.upstreamOut)
			case r.unpatched == r.upstreamOut:
				t.Errorf("the check does not tell the unpatched kernel apart: %s", r.unpatched)
			default:
				r.pass = len(leaks) == 0
			}
		})
	}
	printTable(rows)
}

// crashLine returns the first line of a console that says how the kernel
// died (BUG, Oops, general protection fault, panic), without its time
// stamp.
func crashLine(console string) string {
	if l := complaint(console); l != "" {
		return l
	}
	return "the machine did not finish the script"
}

// complaint returns the first line of a console where the kernel reports
// a bug it survived or died of (BUG, Oops, WARNING, a general protection
// fault, a panic, slub_debug's poison and list debugging's corruption
// reports), without its time stamp, or "".
func complaint(console string) string {
	for _, l := range strings.Split(console, "\n") {
		for _, w := range []string{"BUG:", "BUG ", "Oops:", "WARNING:", "general protection fault", "Kernel panic", "Poison overwritten", "list_add corruption", "list_del corruption"} {
			if i := strings.Index(l, w); i >= 0 {
				return strings.TrimSpace(l[i:])
			}
		}
	}
	return ""
}

// freshWork empties the work directory of a run (kept after it for
// inspection: patches, reports, builder logs, consoles) and builds the
// kprewrite under test into it.
func freshWork(t *testing.T, work string) string {
	t.Helper()
	os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("work directory (kept): %s", work)
	kp := filepath.Join(work, "kprewrite")
	if out, err := exec.Command("go", "build", "-o", kp, "../cmd/kprewrite").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	return kp
}

// bootIn returns what boots a machine of a run: in dir/vm-WHAT, with its
// console kept there and its time stamped; a machine that fails stops the
// test.
func bootIn(t *testing.T, ctx context.Context, dir string, stamp func(string, time.Time)) func(what string, b *Boot) *Result {
	try := tryBootIn(ctx, dir, stamp)
	return func(what string, b *Boot) *Result {
		res, err := try(what, b)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res
	}
}

// tryBootIn is bootIn for a machine whose failure is a result (the
// upstream patch's own livepatch may crash it): the error is returned,
// with the console kept when there is one.
func tryBootIn(ctx context.Context, dir string, stamp func(string, time.Time)) func(what string, b *Boot) (*Result, error) {
	return func(what string, b *Boot) (*Result, error) {
		start := time.Now()
		vm := filepath.Join(dir, "vm-"+what)
		res, err := b.Run(ctx, vm)
		stamp("boot "+what, start)
		if res != nil {
			os.WriteFile(filepath.Join(vm, "console.txt"), []byte(res.Console), 0o644)
		}
		return res, err
	}
}

// restore puts the files a case touches back to the pristine source, and
// removes patch(1)'s leftovers: an interrupted klp-build or upstream build
// can leave a patch applied in the klp tree.
func restore(t *testing.T, klp, src string, files []string) {
	t.Helper()
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			continue // a file the case creates
		}
		p := filepath.Join(klp, f)
		if got, err := os.ReadFile(p); err != nil || string(got) != string(want) {
			t.Logf("restoring %s from the pristine source", f)
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.Remove(p + ".rej")
		os.Remove(p + ".orig")
	}
}

// klpBuild runs the tree's klp-build on a patch and returns the module, or
// "" and what klp-build said.
func klpBuild(t *testing.T, klp, cache, patchFile, out string) (string, string) {
	t.Helper()
	res, err := klpbuild.Run(klp, cache, patchFile, out, klpbuild.Warm(klp)) // the original build may be kept from an earlier run
	if err != nil {
		return "", "refused: " + lastMeaningful(string(res))
	}
	if _, err := os.Stat(out); err != nil {
		return "", "no module: " + lastMeaningful(string(res))
	}
	return out, "accepted"
}

func lastMeaningful(s string) string {
	clip := func(l string) string {
		if len(l) > 160 {
			l = l[:160] + "..."
		}
		return l
	}
	// The first real error (objtool's, the compiler's), not klp-build's
	// own lines about a failed step ("error: klp-build: objtool klp diff
	// failed", the trap line), which objtool's own may follow in the log:
	// its output reaches the log through a process substitution.
	for _, own := range []bool{false, true} {
		for _, l := range strings.Split(s, "\n") {
			l = strings.TrimSpace(l)
			if strings.Contains(l, "error") && !strings.HasPrefix(l, "error: klp-build: line ") && (own || !strings.HasPrefix(l, "error: klp-build:")) {
				return clip(l)
			}
		}
	}
	for _, l := range reverse(strings.Split(strings.TrimSpace(s), "\n")) {
		if l = strings.TrimSpace(l); l != "" {
			return clip(l)
		}
	}
	return "(no output)"
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[len(s)-1-i] = s[i]
	}
	return out
}

// klpFlags are klp-build's build flags: the upstream-built kernels are
// made with them in the klp tree, like the boot kernel, so they differ from
// it only by the patch.
var klpFlags = []string{"KBUILD_MODPOST_WARN=1", "KLP_SYMIDS=1", "KCFLAGS=-ffunction-sections -fdata-sections"}

// upstreamKernel builds the kernel with the upstream patch applied, as an
// incremental build in the klp tree, cached by the patch's and the
// kernel config's content. The patch is reverted afterwards; klp-build's
// next run rebuilds what it touched and compares objects with its kept
// original build.
func upstreamKernel(t *testing.T, klp, cache, version, patchFile, name string) (string, []string, error) {
	data, err := os.ReadFile(patchFile)
	if err != nil {
		return "", nil, err
	}
	config, err := os.ReadFile(filepath.Join(klp, ".config"))
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(append(data, config...))
	outDir := filepath.Join(cache, "upstream-"+version, name+"-"+hex.EncodeToString(sum[:6]))
	mods := []string{filepath.Join(outDir, "bonding.ko"), filepath.Join(outDir, "dummy.ko")}
	if _, err := os.Stat(filepath.Join(outDir, "bzImage")); err == nil {
		return filepath.Join(outDir, "bzImage"), mods, nil
	}
	sh := func(args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = klp
		cmd.Env = klpbuild.Env(cache)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
		return nil
	}
	if err := sh("patch", "-p1", "--no-backup-if-mismatch", "-i", patchFile); err != nil {
		return "", nil, err
	}
	defer sh("patch", "-p1", "-R", "--no-backup-if-mismatch", "-i", patchFile)
	args := append([]string{"make", "-s", "-j" + fmt.Sprint(runtime.NumCPU())}, klpFlags...)
	if err := sh(append(args, "bzImage", "modules")...); err != nil {
		return "", nil, err
	}
	os.MkdirAll(outDir, 0o755)
	if err := copyFile(filepath.Join(klp, "arch/x86/boot/bzImage"), filepath.Join(outDir, "bzImage"), 0o644); err != nil {
		return "", nil, err
	}
	for _, m := range []string{"drivers/net/bonding/bonding.ko", "drivers/net/dummy.ko"} {
		if err := copyFile(filepath.Join(klp, m), filepath.Join(outDir, filepath.Base(m)), 0o644); err != nil {
			return "", nil, err
		}
	}
	return filepath.Join(outDir, "bzImage"), mods, nil
}

// printTable prints the result table on standard output, for the CI log.
func printTable(rows []*row) {
	var b strings.Builder
	b.WriteString("\nEnd-to-end proof: upstream patch -> kprewrite -> klp-build -> livepatch in QEMU\n\n")
	for _, r := range rows {
		if !r.ran {
			continue
		}
		status := "FAIL"
		if r.pass {
			status = "PASS"
		}
		fmt.Fprintf(&b, "[%s] %s\n", status, r.name)
		fmt.Fprintf(&b, "    klp-build on the upstream patch:   %s\n", r.klpUpstream)
		fmt.Fprintf(&b, "    kprewrite on the upstream patch:   %s\n", r.upstreamProof)
		fmt.Fprintf(&b, "    klp-build on the rewritten patch:  %s\n", r.klpRewrite)
		fmt.Fprintf(&b, "    load / transition:                 %s / %s\n", r.load, r.transition)
		fmt.Fprintf(&b, "    behaviour, unpatched kernel:       %s\n", r.unpatched)
		fmt.Fprintf(&b, "    behaviour, rewritten livepatch:    %s\n", r.livepatched)
		fmt.Fprintf(&b, "    behaviour, upstream-built kernel:  %s\n", r.upstreamOut)
		if r.upstreamLP != "" {
			fmt.Fprintf(&b, "    behaviour, upstream livepatch:     %s\n", r.upstreamLP)
		}
		fmt.Fprintf(&b, "    leaks, rewritten livepatch:        %s\n", r.leaks)
		fmt.Fprintf(&b, "    times: %s\n\n", r.times)
	}
	fmt.Print(b.String())
}

// upstreamVerdict picks from kprewrite verify's output what it proves
// about the upstream patch: the layout changes the builders do not check,
// and changed functions a livepatch cannot redirect.
func upstreamVerdict(verify string) string {
	var out []string
	for _, l := range strings.Split(verify, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case upstreamLayoutRE.MatchString(l):
			out = append(out, strings.TrimPrefix(l, "the upstream patch would change "))
		case strings.Contains(l, "which has no ftrace entry"):
			l = strings.TrimPrefix(l, "the upstream patch ")
			if i := strings.Index(l, ": a livepatch"); i > 0 {
				l = l[:i] + " (its livepatch cannot load)"
			}
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return "no layout change, every changed function can be redirected"
	}
	return strings.Join(out, "; ")
}

var upstreamLayoutRE = regexp.MustCompile(`^the upstream patch would change (struct|union) `)

// klpEnv is what scripts/prepare-klp-kernel.sh prints.
type klpEnv struct {
	src     string // pristine linux-source (never modified)
	tree    string // the private copy klp-build builds in
	boot    string // the base kernel: bzImage, modules
	cache   string // $CACHE/e2e
	version string // the kernel version, from the tree's name
}

// klpSetup skips the test unless KPREWRITE_E2E=1 and returns the klp-build
// kernel that scripts/prepare-klp-kernel.sh prepared.
func klpSetup(t *testing.T) *klpEnv {
	t.Helper()
	if os.Getenv("KPREWRITE_E2E") != "1" {
		t.Skip("end-to-end proof: KPREWRITE_E2E=1 with eval $(scripts/prepare-klp-kernel.sh)")
	}
	e := &klpEnv{src: os.Getenv("KPREWRITE_KLP_SRC"), tree: os.Getenv("KPREWRITE_KLP_TREE"), boot: os.Getenv("KPREWRITE_KLP_BOOT")}
	if e.src == "" || e.tree == "" || e.boot == "" {
		t.Fatal("run eval $(scripts/prepare-klp-kernel.sh) first")
	}
	e.cache = filepath.Dir(e.tree)
	e.version = strings.TrimPrefix(filepath.Base(e.tree), "klp-")
	return e
}

// TestBootBase boots the base kernel with the common setup and no
// livepatch: the harness itself works (initramfs, modules, bond0 with
// dummy0 enslaved, checks read back from the console).
func TestBootBase(t *testing.T) {
	boot := klpSetup(t).boot
	b := &Boot{Kernel: filepath.Join(boot, "bzImage"), Modules: []string{filepath.Join(boot, "bonding.ko"), filepath.Join(boot, "dummy.ko")},
		Setup:  "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `check "slaves: $(cat /sys/class/net/bond0/bonding/slaves)"`}
	res, err := b.Run(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Checks, "; "); got != "slaves: dummy0" {
		t.Errorf("checks %q, want %q\n%s", got, "slaves: dummy0", tail(res.Console, 30))
	}
	t.Logf("booted in %.0fs", res.Seconds)
}
