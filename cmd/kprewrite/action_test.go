package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
)

// TestAnalyzeActionFromRegistry proves that analyze's action comes from
// the registry, not from the hazard analysis: a transform registered for
// an existing hazard kind (system calls) instead of the syscall transform
// becomes the action of the syscall hazard it looks at and leaves, with no
// change to package hazard; with no transform for the kind, the action is
// what the engineer does. Not parallel: it swaps the registry the commands
// run (parallel tests start only after it has put the registry back).
func TestAnalyzeActionFromRegistry(t *testing.T) {
	dir := "../../testdata/kernels/sys"
	var looked []string
	toyOf := func(takes bool) *rewrite.Transform {
		return &rewrite.Transform{
			Name:  "toysys",
			Doc:   "looks at changed system calls and, if takes, resolves them",
			Kinds: []hazard.Kind{hazard.Syscall},
			Run: func(p *rewrite.Pass) error {
				for _, e := range p.Entries {
					if e.Kind == hazard.Syscall {
						looked = append(looked, e.Subject)
						if takes {
							p.Resolve(e, "taken by the toy")
						}
					}
				}
				return nil
			},
		}
	}
	saved := registry
	t.Cleanup(func() { registry = saved })
	at := slices.IndexFunc(saved, func(tr *rewrite.Transform) bool { return tr.Name == "syscall" })
	if at < 0 {
		t.Fatal("no syscall transform in the registry")
	}
	withToy := slices.Clone(saved)
	withToy[at] = toyOf(true)
	withIdleToy := slices.Clone(saved)
	withIdleToy[at] = toyOf(false)
	without := slices.Delete(slices.Clone(saved), at, at+1)

	for _, tc := range []struct {
		name     string
		registry []*rewrite.Transform
		code     int
		action   string
	}{
		{"syscall", saved, exitOK, "syscall"},
		{"toy instead of syscall", withToy, exitOK, "toysys"},
		// predicted, looked, left it: the engineer's, never a silent exit 0
		{"toy that leaves it", withIdleToy, exitNeedsHuman,
			"manual: define the system call with the builder's replacement macro (KLP_SYSCALL_DEFINE2 or KPATCH_SYSCALL_DEFINE2)"},
		{"no transform for syscalls", without, exitNeedsHuman,
			"manual: define the system call with the builder's replacement macro (KLP_SYSCALL_DEFINE2 or KPATCH_SYSCALL_DEFINE2)"},
	} {
		registry = tc.registry
		code, out, errs := kp(t, "analyze", "--format", "json", "--tree", dir, "--config", filepath.Join(dir, "config"),
			filepath.Join(dir, "patches", "01-define2.patch"))
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, code, tc.code, errs)
			continue
		}
		var doc struct {
			Patches []struct {
				Findings []rewrite.Finding `json:"findings"`
			} `json:"patches"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Patches) != 1 {
			t.Fatalf("%s: %v: %s", tc.name, err, out)
		}
		var actions []string
		for _, f := range doc.Patches[0].Findings {
			if f.Kind == string(hazard.Syscall) {
				actions = append(actions, f.Action)
			}
		}
		if diff := cmp.Diff([]string{tc.action}, actions); diff != "" {
			t.Errorf("%s: actions of the syscall hazards (-want +got):\n%s", tc.name, diff)
		}
	}
	if diff := cmp.Diff([]string{"sys_sethostname", "sys_sethostname"}, looked); diff != "" { // the two toys
		t.Errorf("hazards the registered transform looked at (-want +got):\n%s", diff)
	}
}
