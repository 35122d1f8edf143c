package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kprewrite/kprewrite/internal/klpbuild"
	"github.com/kprewrite/kprewrite/internal/realcases"
	"github.com/kprewrite/kprewrite/kbuild"
)

// measureCorpus measures development corpus cases as scripts/corpus-run.sh
// runs them: Linux 6.1.170 with Debian's amd64 config, a tree only prepared,
// on the default cache whose work area the corpus runs hold. A complete
// build of that config takes hours on this machine, so there is no complete
// row to compare with; the reached files' compile times use the commands the
// work area learned.
func measureCorpus(bin, work string, ids []string, jobs int) []row {
	cache := kbuild.DefaultCacheDir()
	tree := filepath.Join(cache, "src", "linux-6.1.170")
	config := filepath.Join(cache, "build", "linux-6.1.170-debian-amd64", ".config")
	if _, err := os.Stat(config); err != nil {
		fmt.Fprintf(os.Stderr, "bench: no corpus tree (%v): run scripts/corpus-run.sh once first\n", err)
		return nil
	}
	var rows []row
	for _, id := range ids {
		patchFile := filepath.Join(cache, "corpus", "cases", id+".patch")
		if _, err := os.Stat(patchFile); err != nil {
			fmt.Fprintf(os.Stderr, "bench: corpus case %s: %v\n", id, err)
			continue
		}
		dir := filepath.Join(work, "corpus-"+id)
		os.MkdirAll(dir, 0o755)
		r := measure(bin, dir, id, "prepared, work area held", tree, config, patchFile, jobs, heldWorkArea)
		if files := r.compiled(); len(files) > 0 {
			r.syntax, r.full, r.files = compileTimes(tree, config, cache, files)
		}
		rows = append(rows, r)
	}
	return rows
}

// measureKLP times, on the end-to-end kernel (a complete build configured
// in place, klp-build's original build kept), kprewrite rewrite --verify of
// the seed case with an empty cache next to klp-build's warm run (-S 2) on
// the patch it wrote. It prints its own table: the target is a ratio below 1.
func measureKLP(bin, work string, jobs int) {
	src, klp := os.Getenv("KPREWRITE_KLP_SRC"), os.Getenv("KPREWRITE_KLP_TREE")
	if src == "" || klp == "" {
		fmt.Println("\n(no end-to-end kernel: eval $(scripts/prepare-klp-kernel.sh) for the klp-build comparison)")
		return
	}
	fmt.Printf("\nOn the end-to-end kernel (%s), the seed case:\n\n", filepath.Base(klp))
	fmt.Println("| case | rewrite --verify (empty cache) | klp-build warm (rewritten patch) | ratio (<1) |")
	fmt.Println("| --- | --- | --- | --- |")
	dir := filepath.Join(work, "klp-seed")
	os.MkdirAll(dir, 0o755)
	m, err := realcases.ByName("seed").Materialize(src, dir)
	if err != nil {
		fmt.Printf("| seed | %v | | |\n", err)
		return
	}
	rw := filepath.Join(dir, "rewritten.patch")
	start := time.Now()
	out, err := exec.Command(bin, "rewrite", "--verify", "--quiet", "--tree", klp, "--cache", filepath.Join(dir, "cache"),
		"-j", strconv.Itoa(jobs), "-o", rw, "--report", filepath.Join(dir, "report.txt"), m.Patch).CombinedOutput()
	kp := time.Since(start).Seconds()
	if err != nil {
		fmt.Printf("| seed | failed: %v %s | | |\n", err, lastLine(out))
		return
	}
	if !klpbuild.Warm(klp) {
		fmt.Fprintln(os.Stderr, "bench: klp-build has no kept original build: a cold run first")
		if _, err := klpBuild(klp, rw, filepath.Join(dir, "cold.ko"), false); err != nil {
			fmt.Printf("| seed | %.1f | cold run failed: %v | |\n", kp, err)
			return
		}
	}
	warm, err := klpBuild(klp, rw, filepath.Join(dir, "warm.ko"), true)
	if err != nil {
		fmt.Printf("| seed | %.1f | failed: %v | |\n", kp, err)
		return
	}
	fmt.Printf("| seed | %.1f | %.1f | %.2f |\n", kp, warm, kp/warm)
}

// klpBuild runs the tree's klp-build on a patch as the end-to-end harness
// does (package klpbuild) and returns its wall time; warm keeps the
// original build of an earlier run (-S 2).
func klpBuild(klp, patchFile, out string, warm bool) (float64, error) {
	start := time.Now()
	res, err := klpbuild.Run(klp, filepath.Dir(klp), patchFile, out, warm)
	secs := time.Since(start).Seconds()
	if err != nil {
		return secs, fmt.Errorf("%v: %s", err, lastLine(res))
	}
	return secs, nil
}

func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(lines[len(lines)-1])
}
