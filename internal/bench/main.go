// Command bench runs kprewrite side by side with the compiles it cannot
// avoid, on the seed example and on the real-tree cases (scripts/bench.sh):
// for each case and each state of the build (complete, and prepared only
// with "make prepare modules_prepare"), the wall time of analyze, rewrite
// and rewrite --verify with an empty cache, rewrite --verify again with the
// cache the first run left, and the syntax-only and full compile time of
// exactly the files the patch reaches (verify's "compiled" list, with
// kbuild's own commands), with the ratios the speed targets are stated in.
// It prints the full kernel build time of the same config for comparison.
//
// Two more sections when their inputs are there: a sample of the
// development corpus (-corpus ID,ID: real stable fixes on Debian's amd64
// config, a prepared tree whose work area the corpus runs hold), and, on the
// end-to-end kernel of scripts/prepare-klp-kernel.sh (-klp), kprewrite
// rewrite --verify next to klp-build's warm run of the rewritten patch.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kprewrite/kprewrite/internal/realcases"
	"github.com/kprewrite/kprewrite/kbuild"
)

// Targets of issue 17, as ratios.
const (
	analyzeTarget  = 1.5 // analyze / syntax-only compile of the reached files
	verifyTarget   = 1.5 // rewrite --verify / full compile of the reached files (base + rewritten)
	warmTarget     = 3.0 // first / second rewrite --verify on the same tree
	preparedTarget = 1.0 // prepared-tree rewrite --verify / complete-build one
)

type row struct {
	name, build                     string
	analyze, rewrite, verify, again float64 // seconds
	syntax, full                    float64 // seconds, of the reached files (base only)
	files                           int
	status                          string
}

func main() {
	bin := flag.String("kprewrite", "./kprewrite", "kprewrite binary")
	src := flag.String("tree", os.Getenv("KPREWRITE_LINUX_TREE"), "prepared kernel tree")
	build := flag.String("build", os.Getenv("KPREWRITE_LINUX_BUILD"), "its O= build directory, completely built")
	prepared := flag.String("prepared", os.Getenv("KPREWRITE_BENCH_PREPARED"), "an O= directory only prepared (make olddefconfig prepare modules_prepare) with the same config; made when it has no .config")
	only := flag.String("cases", "", "comma-separated case names (default: all)")
	jobs := flag.Int("jobs", 1, "kprewrite --jobs")
	corpusCases := flag.String("corpus", "", "comma-separated development corpus case IDs to measure (scripts/corpus.sh made them)")
	klp := flag.Bool("klp", os.Getenv("KPREWRITE_KLP_TREE") != "", "also time rewrite --verify against klp-build's warm run on the end-to-end kernel (eval $(scripts/prepare-klp-kernel.sh))")
	flag.Parse()
	work, err := os.MkdirTemp("", "kprewrite-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}

	var rows []row
	r := measure(*bin, work, "seed-mini", "miniature", "testdata/kernels/seed", "", "testdata/kernels/seed/patches/seed.patch", *jobs, emptyCaches)
	rows = append(rows, r)
	if *corpusCases != "" {
		rows = append(rows, measureCorpus(*bin, work, strings.Split(*corpusCases, ","), *jobs)...)
	}
	if *klp {
		defer measureKLP(*bin, work, *jobs)
	}
	if *src == "" || *build == "" {
		printRows(rows)
		fmt.Println("\n(no prepared kernel: eval $(scripts/prepare-kernel.sh) for the real-tree cases)")
		return
	}
	builds := []struct{ name, dir string }{{"complete", *build}}
	if *prepared != "" {
		if err := prepare(*src, *build, *prepared); err != nil {
			fail(err)
		}
		builds = append(builds, struct{ name, dir string }{"prepared", *prepared})
	}
	for _, c := range realcases.All {
		if len(want) > 0 && !want[c.Name] {
			continue
		}
		dir := filepath.Join(work, c.Name)
		os.MkdirAll(dir, 0o755)
		m, err := c.Materialize(*src, dir)
		if err != nil {
			fmt.Printf("%-10s %v\n", c.Name, err)
			continue
		}
		for _, b := range builds {
			r := measure(*bin, dir, c.Name, b.name, m.Tree, filepath.Join(b.dir, ".config"), m.Patch, *jobs, emptyCaches)
			if b.name == "complete" && len(r.compiled()) > 0 {
				r.syntax, r.full, r.files = compileTimes(m.Tree, filepath.Join(*build, ".config"), filepath.Join(os.TempDir(), "kprewrite-bench-cache"), r.compiled())
			}
			rows = append(rows, r)
		}
	}
	printRows(rows)
	if data, err := os.ReadFile(filepath.Join(*build, ".kprewrite-build-seconds")); err == nil {
		secs, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		fmt.Printf("\nfull kernel build with the same config (make -j%d, measured by prepare-kernel.sh): %d s\n", numCPU(), secs)
		fmt.Println("kpatch-build and klp-build build the kernel at least once per patch (klp-build: twice on its first run).")
	}
}

// compiledFiles is the verify report's list of reached files, kept per row.
var compiledFiles = map[string][]string{}

func (r row) compiled() []string { return compiledFiles[r.name+"/"+r.build] }

// A cachePolicy gives the cache arguments of each step of measure:
// "analyze", "rewrite", "verify" (the first rewrite --verify) and "again";
// with fill, an untimed rewrite --verify ("fill") runs before "again" to
// leave the results it reads.
type cachePolicy struct {
	args func(base, step string) []string
	fill bool
}

// emptyCaches gives analyze, rewrite and rewrite --verify an empty cache
// each (work area and results), and "again" the cache the first rewrite
// --verify left.
var emptyCaches = cachePolicy{args: func(base, step string) []string {
	if step == "again" {
		step = "verify"
	}
	return []string{"--cache", base + "-" + step}
}}

// heldWorkArea runs on the default cache, whose work area the corpus runs
// prepared and whose compile commands they learned, with no compile result
// read or stored except by "fill" and "again": a distribution team's state
// after its first patch on a tree and config.
var heldWorkArea = cachePolicy{args: func(base, step string) []string {
	if step == "fill" || step == "again" {
		return nil
	}
	return []string{"--no-result-cache"}
}, fill: true}

// measure runs analyze, rewrite and rewrite --verify, then rewrite --verify
// again on the cache the first run left, with the caches policy gives.
func measure(bin, dir, name, buildName, tree, config, patchFile string, jobs int, policy cachePolicy) row {
	r := row{name: name, build: buildName}
	base := filepath.Join(dir, "bench-"+buildName)
	os.RemoveAll(base)
	args := func(step string, cmd ...string) []string {
		a := append(cmd, "--quiet", "--tree", tree, "-j", strconv.Itoa(jobs))
		a = append(a, policy.args(base, step)...)
		if config != "" {
			a = append(a, "--config", config)
		}
		return a
	}
	var errs []string
	run := func(a ...string) (float64, []byte) {
		cmd := exec.Command(bin, append(a, patchFile)...)
		var out bytes.Buffer
		cmd.Stdout = &out
		start := time.Now()
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() > 1) {
			errs = append(errs, a[0]+": "+err.Error())
		}
		return time.Since(start).Seconds(), out.Bytes()
	}
	r.analyze, _ = run(args("analyze", "analyze")...)
	r.rewrite, _ = run(append(args("rewrite", "rewrite"), "-o", base+".r.patch", "--report", base+".r.report")...)
	vargs := func(step string) []string {
		return append(args(step, "rewrite", "--verify", "--format", "json"), "-o", base+".v.patch", "--report", base+".v.report")
	}
	var out []byte
	r.verify, out = run(vargs("verify")...)
	var rep struct {
		Compiled []string `json:"compiled"`
	}
	if json.Unmarshal(out, &rep) == nil {
		compiledFiles[name+"/"+buildName] = rep.Compiled
	}
	if policy.fill {
		run(vargs("fill")...)
	}
	r.again, _ = run(vargs("again")...)
	r.status = strings.Join(errs, "; ")
	return r
}

// compileTimes compiles files with kbuild's commands (of the complete build,
// or those learned in cache's work area for a prepared one), one after
// another: syntax only, then to objects (into a scratch file).
func compileTimes(tree, config, cache string, files []string) (syntax, full float64, n int) {
	env, err := kbuild.Open(tree, config, kbuild.Options{CacheDir: cache})
	if err != nil {
		return 0, 0, 0
	}
	tmp, err := os.MkdirTemp("", "kprewrite-bench-obj-")
	if err != nil {
		return 0, 0, 0
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		cmd, err := env.CompileCommand(f)
		if err != nil {
			continue
		}
		n++
		for _, syn := range []bool{true, false} {
			var a []string
			for i := 0; i < len(cmd.Args); i++ {
				switch {
				case i == cmd.OutArg:
					a = append(a, filepath.Join(tmp, "out.o"))
				case syn && cmd.Args[i] == "-c":
					a = append(a, "-fsyntax-only")
				case syn && cmd.Args[i] == "-o":
					i++
				default:
					a = append(a, cmd.Args[i])
				}
			}
			c := exec.Command(a[0], a[1:]...)
			c.Dir = cmd.Dir
			start := time.Now()
			c.Run()
			if syn {
				syntax += time.Since(start).Seconds()
			} else {
				full += time.Since(start).Seconds()
			}
		}
	}
	return syntax, full, n
}

// prepare makes dir an O= build only prepared with build's config.
func prepare(src, build, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "include", "generated", "autoconf.h")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(build, ".config"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".config"), cfg, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: preparing %s (make olddefconfig prepare modules_prepare)\n", dir)
	out, err := exec.Command("make", "-C", src, "O="+dir, fmt.Sprintf("-j%d", numCPU()), "olddefconfig", "prepare", "modules_prepare").CombinedOutput()
	if err != nil {
		return fmt.Errorf("make prepare: %v: %s", err, out[max(0, len(out)-1000):])
	}
	return nil
}

func printRows(rows []row) {
	fmt.Printf("kprewrite side by side, %d CPUs (seconds; ratios with the target in brackets)\n\n", numCPU())
	fmt.Printf("| case | build | analyze | rewrite | rewrite --verify | again (cache) | reached files | syntax-only | full compile | analyze/syntax (≤%.1f) | verify/(2×full) (≤%.1f) | first/again (≥%.0f) |\n",
		analyzeTarget, verifyTarget, warmTarget)
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		ratio := func(a, b float64) string {
			if b <= 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f", a/b)
		}
		syn, full, files := "—", "—", "—"
		if r.files > 0 {
			syn, full, files = fmt.Sprintf("%.1f", r.syntax), fmt.Sprintf("%.1f", r.full), strconv.Itoa(r.files)
		}
		fmt.Printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %s | %s | %s | %s | %s | %s |", r.name, r.build, r.analyze, r.rewrite, r.verify, r.again,
			files, syn, full, ratio(r.analyze, r.syntax), ratio(r.verify, 2*r.full), ratio(r.verify, r.again))
		if r.status != "" {
			fmt.Printf(" %s", r.status)
		}
		fmt.Println()
	}
	// prepared / complete, per case
	byCase := map[string]map[string]float64{}
	for _, r := range rows {
		if byCase[r.name] == nil {
			byCase[r.name] = map[string]float64{}
		}
		byCase[r.name][r.build] = r.verify
	}
	for _, r := range rows {
		if r.build == "prepared" && byCase[r.name]["complete"] > 0 {
			fmt.Printf("%s: prepared/complete rewrite --verify %.2f (target ≤%.1f)\n", r.name, r.verify/byCase[r.name]["complete"], preparedTarget)
		}
	}
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(2)
}
