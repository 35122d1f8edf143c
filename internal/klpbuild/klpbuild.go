// Package klpbuild runs kernel builds the way the end-to-end proof and the
// benchmark need them: through ccache (scripts/prepare-klp-kernel.sh
// installs it and fills the cache), and the kernel's own livepatch builder,
// scripts/livepatch/klp-build, on a patch.
package klpbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

// Env is the environment of a kernel build whose ccache lives under cache:
// through ccache when it is installed.
func Env(cache string) []string {
	env := append(os.Environ(), "LC_ALL=C")
	if _, err := os.Stat("/usr/lib/ccache/gcc"); err == nil {
		env = append(env, "CCACHE_DIR="+filepath.Join(cache, "ccache"), "PATH=/usr/lib/ccache:"+os.Getenv("PATH"))
	}
	return env
}

// Warm reports whether tree keeps klp-build's original build from an
// earlier run (-T), so the next run can start at its step 2.
func Warm(tree string) bool {
	_, err := os.Stat(filepath.Join(tree, "klp-tmp", "1-orig", ".complete"))
	return err == nil
}

// Run runs tree's klp-build on patchFile (ccache under cache), writing the
// livepatch module to out and what klp-build printed to out+".log", which
// it also returns. warm starts at step 2 (-S 2) on the kept original build.
func Run(tree, cache, patchFile, out string, warm bool) ([]byte, error) {
	args := []string{"-T", "-j", strconv.Itoa(runtime.NumCPU()), "-o", out}
	if warm {
		args = append(args, "-S", "2")
	}
	cmd := exec.Command("./scripts/livepatch/klp-build", append(args, patchFile)...)
	cmd.Dir = tree
	cmd.Env = Env(cache)
	res, err := cmd.CombinedOutput()
	os.WriteFile(out+".log", res, 0o644)
	return res, err
}
