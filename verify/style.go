package verify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
)

var checkpatchRE = regexp.MustCompile(`^[^:]*:\d+: (ERROR|WARNING|CHECK):([A-Z_0-9]+): (.*)$`)

// checkpatch runs the tree's scripts/checkpatch.pl on a patch and returns
// its messages as "SEVERITY:TYPE: message" (line numbers dropped, so the
// messages of two patches can be compared).
func checkpatch(env *kbuild.Env, p *patch.Patch) ([]string, error) {
	script, err := env.Tree.Abs("scripts/checkpatch.pl")
	if err != nil {
		return nil, err
	}
	// Run outside any git repository: checkpatch would look commit ids up.
	dir, err := os.MkdirTemp("", "kprewrite-checkpatch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer progress.From(env.Context()).Start("style", 0).End()
	text := patch.Render(p, patch.RenderOptions{})
	// The result cache: checkpatch's output for the same patch, script and
	// the files beside it that it reads.
	rc := rcache.From(env.Context())
	var key string
	var deps []rcache.Dep
	if rc != nil {
		if perl, err := exec.LookPath("perl"); err == nil {
			key = rc.Key([]byte("checkpatch"), []byte(perl), []byte(script), text)
			for _, f := range []string{script, filepath.Join(filepath.Dir(script), "spelling.txt"), filepath.Join(filepath.Dir(script), "const_structs.checkpatch")} {
				if sum, err := rc.SumFile(f, ""); err == nil {
					deps = append(deps, rcache.Dep{Path: f, Sum: sum})
				}
			}
			if e := rc.Lookup(key, func(p string) string { return p }, ""); e != nil {
				return parseCheckpatch(e.Data), nil
			}
		}
	}
	cmd := exec.CommandContext(env.Context(), "perl", script, "--no-tree", "--terse", "--show-types", "--no-summary", "--no-signoff", "-")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.Output() // exit status 1 just means "found something"
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		// not "found something": perl or the script could not run
		if env.Context().Err() != nil {
			return nil, env.Context().Err()
		}
		return nil, kperr.Toolchainf(err, "scripts/checkpatch.pl could not run (is perl installed?)")
	}
	if key != "" && env.Context().Err() == nil {
		rc.Store(key, &rcache.Entry{Deps: deps, Data: out})
	}
	return parseCheckpatch(out), nil
}

// parseCheckpatch reads checkpatch's --terse --show-types output.
func parseCheckpatch(out []byte) []string {
	var msgs []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := checkpatchRE.FindStringSubmatch(l); m != nil {
			msgs = append(msgs, m[1]+":"+m[2]+": "+m[3])
		}
	}
	return msgs
}

// styleCheck reports what checkpatch says about the rewritten patch that it
// does not say about the original. New errors fail the check.
// A checkpatch that cannot run is an error of the environment, not a
// verdict.
func styleCheck(env *kbuild.Env, rewritten, original *patch.Patch) (Check, error) {
	c := Check{Name: "style", OK: true}
	if !env.Tree.Exists("scripts/checkpatch.pl") {
		c.Skipped = true
		c.Summary = "skipped: the tree has no scripts/checkpatch.pl"
		return c, nil
	}
	newMsgs, err := checkpatch(env, rewritten)
	if err != nil {
		return c, err
	}
	seen := map[string]int{}
	if original != nil {
		old, err := checkpatch(env, original)
		if err != nil {
			return c, err
		}
		for _, m := range old {
			seen[m]++
		}
	}
	errs, warns := 0, 0
	for _, m := range newMsgs {
		if seen[m] > 0 {
			seen[m]--
			continue
		}
		c.Details = append(c.Details, m)
		switch {
		case strings.HasPrefix(m, "ERROR"):
			errs++
		case strings.HasPrefix(m, "WARNING"):
			warns++
		}
	}
	c.OK = errs == 0
	against := "on its own"
	if original != nil {
		against = "beyond what it says about the original"
	}
	c.Summary = fmt.Sprintf("checkpatch.pl: %d new errors, %d new warnings %s", errs, warns, against)
	return c, nil
}
