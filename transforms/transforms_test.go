package transforms

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
)

// TestRegistry checks what the driver and the CLI derive from the
// registry: the member strategies in order and the declarations every
// transform needs.
func TestRegistry(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff([]string{"rcuhead", "bitfield", "structext", "hole", "shadow"}, Strategies()); diff != "" {
		t.Errorf("strategies (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, tr := range All() {
		if tr.Name == "" || tr.Doc == "" || tr.Run == nil || (len(tr.Kinds) == 0 && tr.Name != "comments") {
			t.Errorf("%q: a transform needs a name, a doc, a Run and the hazard kinds it takes", tr.Name)
		}
		if seen[tr.Name] {
			t.Errorf("%s registered twice", tr.Name)
		}
		seen[tr.Name] = true
		if tr.Member != nil && (tr.Member.Use == "" || tr.Member.Takes == nil) {
			t.Errorf("%s: a member strategy says what it is (Use) and what it takes", tr.Name)
		}
		for _, r := range tr.Requires {
			if r.FactName() == "" {
				t.Errorf("%s requires an unnamed fact", tr.Name)
			}
		}
	}
	// header code moves into the .c files before the member strategies run
	names := make([]string, 0, len(All()))
	for _, tr := range All() {
		names = append(names, tr.Name)
	}
	if slices.Index(names, "header2c") > slices.Index(names, "bitfield") {
		t.Errorf("order %v: header2c must run first", names)
	}
	// removed members are back in their struct before the layouts of new ones are read
	if slices.Index(names, "keep") > slices.Index(names, "bitfield") {
		t.Errorf("order %v: keep must run before the member strategies", names)
	}
	// comment-only header changes are dropped from what every other transform left
	if names[len(names)-1] != "comments" {
		t.Errorf("order %v: comments must run last", names)
	}
}

// TestPredictedTakers: under the registry, the hazards a transform can
// rewrite as they are get as their action the transform that rewrites
// them (header code: header2c; system calls: syscall), whatever
// --strategy chooses.
func TestPredictedTakers(t *testing.T) {
	t.Parallel()
	want := map[hazard.Kind]string{
		hazard.HeaderInline: "header2c",
		hazard.HeaderMacro:  "header2c",
		hazard.HeaderDecl:   "header2c",
		hazard.HeaderOther:  "header2c",
		hazard.Syscall:      "syscall",
		hazard.Export:       "exports",
	}
	for _, strategy := range append([]string{""}, Strategies()...) {
		for kind, name := range want {
			got := "nothing"
			if tr := rewrite.Taker(All(), rewrite.Options{Strategy: strategy}, &hazard.Hazard{Kind: kind, Auto: true}); tr != nil {
				got = tr.Name
			}
			if got != name {
				t.Errorf("strategy %q: %s hazards are predicted for %s, want %s", strategy, kind, got, name)
			}
		}
	}
}
