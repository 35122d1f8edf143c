// Command bench times "kprewrite rewrite --verify" on the seed example and
// on every real-tree case, and prints the figures next to the time of a
// full kernel build with the same config (what kpatch-build and klp-build
// pay at least once per patch). Run it through scripts/bench.sh.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kprewrite/kprewrite/internal/realcases"
)

func main() {
	bin := flag.String("kprewrite", "./kprewrite", "kprewrite binary")
	src := flag.String("tree", os.Getenv("KPREWRITE_LINUX_TREE"), "prepared kernel tree")
	build := flag.String("build", os.Getenv("KPREWRITE_LINUX_BUILD"), "its O= build directory")
	flag.Parse()
	work, err := os.MkdirTemp("", "kprewrite-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)

	fmt.Printf("kprewrite rewrite --verify, %d CPUs\n\n", numCPU())
	fmt.Printf("%-10s %-38s %12s %12s %10s\n", "case", "tree", "wall time", "CPU time", "max RSS")
	run := func(name, tree, config, patchFile string) {
		out := filepath.Join(work, name+".out")
		args := []string{"rewrite", "--verify", "--tree", tree, "-o", out, "--report", out + ".report"}
		if config != "" {
			args = append(args, "--config", config)
		}
		cmd := exec.Command(*bin, append(args, patchFile)...)
		cmd.Stdout, cmd.Stderr = nil, nil
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		status := ""
		if err != nil {
			status = "  (" + err.Error() + ")"
		}
		// wait4's usage covers kprewrite and the compilers it waited for
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Printf("%-10s %-38s %11.1fs %11.1fs %8d MB%s\n", name, shorten(tree), wall.Seconds(), cpu.Seconds(), ru.Maxrss/1024, status)
	}
	run("seed", "testdata/kernels/seed", "", "testdata/kernels/seed/patches/seed.patch")
	if *src == "" || *build == "" {
		fmt.Println("\n(no prepared kernel: eval $(scripts/prepare-kernel.sh) for the real-tree cases)")
		return
	}
	for _, c := range realcases.All {
		dir := filepath.Join(work, c.Name)
		os.MkdirAll(dir, 0o755)
		m, err := c.Materialize(*src, dir)
		if err != nil {
			fmt.Printf("%-10s %v\n", c.Name, err)
			continue
		}
		run(c.Name, m.Tree, filepath.Join(*build, ".config"), m.Patch)
	}
	if data, err := os.ReadFile(filepath.Join(*build, ".kprewrite-build-seconds")); err == nil {
		secs, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		fmt.Printf("\nfull kernel build with the same config (make -j%d, measured by prepare-kernel.sh): %d s\n", numCPU(), secs)
		fmt.Println("kpatch-build and klp-build build the kernel at least once per patch (klp-build: twice on its first run).")
	}
}

func shorten(p string) string {
	if len(p) > 38 {
		return "..." + p[len(p)-35:]
	}
	return p
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
