package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kprewrite/kprewrite/internal/klpbuild"
	"github.com/kprewrite/kprewrite/internal/realcases"
)

// KpatchCases names the cases of the kpatch-build proof on Debian's 6.1
// (TestKpatchEndToEnd): a member placed in a hole of struct slave, the
// seed, and a u64 counter in struct slave kept in a klp shadow variable
// (the first step of the "shown" series; its post-unpatch callback in
// kpatch-macros.h's dialect frees the shadows). kpatch's own "newpid"
// example is not among them: kprewrite refuses it (tasks created before
// the load cannot read the number kernel_clone() gives new ones).
var KpatchCases = []string{"hole", "seed", "shown"}

// kpatchEnv is what scripts/prepare-kpatch-kernel.sh prints.
type kpatchEnv struct {
	src   string // pristine linux-source-6.1 (never modified)
	tree  string // the private copy kpatch-build builds in
	btree string // the private copy built the ordinary way: boot and upstream-built kernels
	boot  string // the base kernel: bzImage, vmlinux, modules
	build string // kpatch-build/kpatch-build
	tool  string // kpatch's built source
	cache string // $CACHE/kpatch
}

func kpatchSetup(t *testing.T) *kpatchEnv {
	t.Helper()
	if os.Getenv("KPREWRITE_KPATCH_E2E") != "1" {
		t.Skip("kpatch-build end-to-end proof: KPREWRITE_KPATCH_E2E=1 with eval $(scripts/prepare-kpatch-kernel.sh)")
	}
	e := &kpatchEnv{
		src:   os.Getenv("KPREWRITE_LINUX_TREE"),
		tree:  os.Getenv("KPREWRITE_KPATCH_TREE"),
		btree: os.Getenv("KPREWRITE_KPATCH_BOOT_TREE"),
		boot:  os.Getenv("KPREWRITE_KPATCH_BOOT"),
		build: os.Getenv("KPREWRITE_KPATCH_BUILD"),
		tool:  os.Getenv("KPREWRITE_KPATCH_SRC"),
	}
	if e.src == "" || e.tree == "" || e.btree == "" || e.boot == "" || e.build == "" || e.tool == "" {
		t.Fatal("run eval $(scripts/prepare-kpatch-kernel.sh) first")
	}
	e.cache = filepath.Dir(e.tree)
	return e
}

// TestKpatchEndToEnd: for each case of KpatchCases on Debian's 6.1,
// kprewrite rewrites the upstream patch in the kpatch dialect and verify
// proves it; kpatch-build builds livepatch modules from the upstream and the
// rewritten patch; the base kernel boots in QEMU, creates objects, loads the
// rewritten livepatch (insmod), waits for the transition and runs the
// behaviour check, which must match a kernel built with the upstream patch
// and fail on the unpatched kernel.
func TestKpatchEndToEnd(t *testing.T) {
	e := kpatchSetup(t)
	version := strings.TrimPrefix(filepath.Base(e.tree), "linux-")
	work := filepath.Join(e.cache, "last-run")
	kp := freshWork(t, work)
	baseMods := []string{filepath.Join(e.boot, "bonding.ko"), filepath.Join(e.boot, "dummy.ko")}
	ctx := context.Background()
	var rows []*row
	for _, name := range KpatchCases {
		c := realcases.ByName(name)
		beh := Behaviour[name]
		r := &row{name: name}
		rows = append(rows, r)
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(work, name)
			os.MkdirAll(dir, 0o755)
			m, err := c.Materialize(e.src, dir)
			if err != nil {
				t.Fatal(err)
			}
			r.ran = true
			for _, tree := range []string{e.tree, e.btree} {
				restore(t, tree, e.src, m.Files)
				defer restore(t, tree, e.src, m.Files)
			}
			var times []string
			stamp := func(what string, start time.Time) {
				times = append(times, fmt.Sprintf("%s %.0fs", what, time.Since(start).Seconds()))
			}
			// 1. rewrite and verify in the kpatch dialect on the kpatch
			// tree (configured and built in place, pristine between runs)
			rw := filepath.Join(dir, "rewritten.patch")
			start := time.Now()
			cmd := exec.Command(kp, "rewrite", "--verify", "--dialect", "kpatch", "--tree", e.tree,
				"-o", rw, "--report", filepath.Join(dir, "report.txt"), m.Patch)
			cmd.Env = append(os.Environ(), "KPREWRITE_KPATCH_SRC="+e.tool)
			out, err := cmd.CombinedOutput()
			stamp("rewrite+verify", start)
			os.WriteFile(filepath.Join(dir, "verify.txt"), out, 0o644)
			r.upstreamProof = upstreamVerdict(string(out))
			if err != nil {
				rep, _ := os.ReadFile(filepath.Join(dir, "report.txt"))
				t.Fatalf("kprewrite rewrite --verify: %v\n%s\n%s", err, rep, out)
			}
			// 2. kpatch-build on both patches
			start = time.Now()
			upKO, upMsg := e.kpatchBuild(t, m.Patch, dir, "livepatch-up-"+name)
			stamp("kpatch-build upstream", start)
			r.klpUpstream = upMsg
			start = time.Now()
			rwKO, rwMsg := e.kpatchBuild(t, rw, dir, "livepatch-kp-"+name)
			stamp("kpatch-build rewritten", start)
			r.klpRewrite = rwMsg
			if rwKO == "" {
				t.Fatalf("kpatch-build refused the rewritten patch: %s", rwMsg)
			}
			// 3. the kernel built with the upstream patch
			start = time.Now()
			upKernel, upMods, err := e.upstreamKernel(t, version, m.Patch, name)
			stamp("upstream build", start)
			if err != nil {
				t.Fatal(err)
			}
			// 4. boots
			run := bootIn(t, ctx, dir, stamp)
			kernel := filepath.Join(e.boot, "bzImage")
			unpatched := run("unpatched", &Boot{Kernel: kernel, Modules: baseMods, Setup: beh.Setup, Script: beh.Script})
			lp := run("livepatched", &Boot{Kernel: kernel, Modules: baseMods, Livepatch: rwKO, Setup: beh.Setup, Script: beh.Script})
			upstream := run("upstream-built", &Boot{Kernel: upKernel, Modules: upMods, Setup: beh.Setup, Script: beh.Script})
			r.livepatched = strings.Join(lp.Checks, "; ")
			r.upstreamOut = strings.Join(upstream.Checks, "; ")
			r.unpatched = strings.Join(unpatched.Checks, "; ")
			r.load, r.transition = "ok", lp.Transition
			if lp.LoadError != "" {
				r.load = lp.LoadError
			}
			if upKO != "" {
				ul := run("upstream-livepatched", &Boot{Kernel: kernel, Modules: baseMods, Livepatch: upKO, Setup: beh.Setup, Script: beh.Script})
				r.upstreamLP = strings.Join(ul.Checks, "; ")
				if ul.LoadError != "" {
					r.upstreamLP = ul.LoadError
				}
			}
			r.times = strings.Join(times, ", ")
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
				r.pass = true
			}
		})
	}
	printBuilderTable(os.Stdout, "kpatch-build", "Linux "+version+" (Debian linux-source-6.1)", rows)
}

// kpatchBuild runs kpatch-build on a patch in the kpatch tree against the
// base kernel's vmlinux and returns the livepatch module, or "" and what
// kpatch-build said. Its log is kept next to the module.
func (e *kpatchEnv) kpatchBuild(t *testing.T, patchFile, dir, modname string) (string, string) {
	t.Helper()
	home := filepath.Join(e.cache, "kpatch-home")
	outDir := filepath.Join(dir, modname)
	os.RemoveAll(outDir)
	os.MkdirAll(outDir, 0o755)
	cmd := exec.Command(e.build, "-s", e.tree, "-c", filepath.Join(e.tree, ".config"),
		"-v", filepath.Join(e.boot, "vmlinux"), "-j", fmt.Sprint(runtime.NumCPU()),
		"-n", modname, "-o", outDir, patchFile)
	cmd.Env = append(e.buildEnv(), "CACHEDIR="+home)
	res, err := cmd.CombinedOutput()
	log, _ := os.ReadFile(filepath.Join(home, "build.log"))
	os.WriteFile(filepath.Join(outDir, "kpatch-build.out"), res, 0o644)
	os.WriteFile(filepath.Join(outDir, "build.log"), log, 0o644)
	if err != nil {
		return "", "refused: " + kpatchFailure(string(res), string(log))
	}
	// kpatch-build copies $MODNAME.ko into the -o directory.
	ko := filepath.Join(outDir, modname+".ko")
	if _, err := os.Stat(ko); err != nil {
		return "", "no module: " + lastMeaningful(string(res))
	}
	return ko, "accepted"
}

// kpatchFailure is the reason kpatch-build gave up: create-diff-object's
// complaints from its log ("ERROR: fork.o: changed section ... not selected
// for inclusion"), else the compiler's first error, else kpatch-build's
// last word.
func kpatchFailure(out, log string) string {
	var detail []string
	seen := map[string]bool{}
	add := func(l string) {
		if !seen[l] && len(detail) < 3 {
			seen[l] = true
			detail = append(detail, l)
		}
	}
	lines := strings.Split(log+"\n"+out, "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		// kpatch-build's own trailer ("ERROR: 1 error(s) encountered.
		// Check .../build.log for more details.") says nothing new.
		if strings.HasPrefix(l, "ERROR:") && !strings.Contains(l, "for more details") {
			add(l)
		}
	}
	if len(detail) == 0 {
		for _, l := range lines {
			if l = strings.TrimSpace(l); strings.Contains(l, "error:") {
				add(l)
				break
			}
		}
	}
	if len(detail) == 0 {
		return lastMeaningful(out)
	}
	s := strings.Join(detail, " | ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// buildEnv is the environment of every build in the kpatch tree, through
// the tree's ccache.
func (e *kpatchEnv) buildEnv() []string { return klpbuild.Env(e.cache) }

// upstreamKernel builds the kernel with the upstream patch applied, as an
// incremental build in the boot tree (ordinary flags, like the base kernel,
// so the two differ only by the patch), cached by the patch's content. The
// patch is reverted afterwards.
func (e *kpatchEnv) upstreamKernel(t *testing.T, version, patchFile, name string) (string, []string, error) {
	data, err := os.ReadFile(patchFile)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(data)
	outDir := filepath.Join(e.cache, "upstream-"+version, name+"-"+hex.EncodeToString(sum[:6]))
	mods := []string{filepath.Join(outDir, "bonding.ko"), filepath.Join(outDir, "dummy.ko")}
	if _, err := os.Stat(filepath.Join(outDir, "bzImage")); err == nil {
		return filepath.Join(outDir, "bzImage"), mods, nil
	}
	sh := func(args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = e.btree
		cmd.Env = e.buildEnv()
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
	if err := sh("make", "-s", "-j"+fmt.Sprint(runtime.NumCPU()), "bzImage", "modules"); err != nil {
		return "", nil, err
	}
	os.MkdirAll(outDir, 0o755)
	if err := copyFile(filepath.Join(e.btree, "arch/x86/boot/bzImage"), filepath.Join(outDir, "bzImage"), 0o644); err != nil {
		return "", nil, err
	}
	for _, m := range []string{"drivers/net/bonding/bonding.ko", "drivers/net/dummy.ko"} {
		if err := copyFile(filepath.Join(e.btree, m), filepath.Join(outDir, filepath.Base(m)), 0o644); err != nil {
			return "", nil, err
		}
	}
	return filepath.Join(outDir, "bzImage"), mods, nil
}

// TestKpatchBootBase boots the kpatch base kernel with the common setup and
// no livepatch: the 6.1 kernel, its modules and the harness work together.
func TestKpatchBootBase(t *testing.T) {
	e := kpatchSetup(t)
	b := &Boot{Kernel: filepath.Join(e.boot, "bzImage"), Modules: []string{filepath.Join(e.boot, "bonding.ko"), filepath.Join(e.boot, "dummy.ko")},
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

// printBuilderTable prints the result table of a builder's end-to-end proof:
// one block per case, then the summary table (Markdown, as in the README).
func printBuilderTable(w io.Writer, builder, kernel string, rows []*row) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nEnd-to-end proof on %s: upstream patch -> kprewrite -> %s -> livepatch in QEMU\n\n", kernel, builder)
	pad := func(s string) string { return fmt.Sprintf("%-38s", s) }
	for _, r := range rows {
		if !r.ran {
			continue
		}
		status := "FAIL"
		if r.pass {
			status = "PASS"
		}
		fmt.Fprintf(&b, "[%s] %s\n", status, r.name)
		fmt.Fprintf(&b, "    %s%s\n", pad(builder+" on the upstream patch:"), r.klpUpstream)
		fmt.Fprintf(&b, "    %s%s\n", pad("kprewrite on the upstream patch:"), r.upstreamProof)
		fmt.Fprintf(&b, "    %s%s\n", pad(builder+" on the rewritten patch:"), r.klpRewrite)
		fmt.Fprintf(&b, "    %s%s / %s\n", pad("load / transition:"), r.load, r.transition)
		fmt.Fprintf(&b, "    %s%s\n", pad("behaviour, unpatched kernel:"), r.unpatched)
		fmt.Fprintf(&b, "    %s%s\n", pad("behaviour, rewritten livepatch:"), r.livepatched)
		fmt.Fprintf(&b, "    %s%s\n", pad("behaviour, upstream-built kernel:"), r.upstreamOut)
		if r.upstreamLP != "" {
			fmt.Fprintf(&b, "    %s%s\n", pad("behaviour, upstream livepatch:"), r.upstreamLP)
		}
		fmt.Fprintf(&b, "    times: %s\n\n", r.times)
	}
	fmt.Fprintf(&b, "| case | %[1]s, upstream patch | %[1]s, rewritten patch | load / transition | rewritten livepatch | upstream-built kernel | upstream livepatch |\n", builder)
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	cell := func(s string) string {
		if s == "" {
			return "—"
		}
		return strings.ReplaceAll(s, "|", `\|`)
	}
	for _, r := range rows {
		if !r.ran {
			continue
		}
		lt := "—"
		if r.load != "" {
			lt = r.load + " / " + r.transition
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.name, cell(r.klpUpstream), cell(r.klpRewrite), cell(lt),
			cell(r.livepatched), cell(r.upstreamOut), cell(r.upstreamLP))
	}
	fmt.Fprint(w, b.String())
}
