package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

const header = "struct s {\n\tint a;\n};\n"

// addMember is an upstream patch that adds a member to struct s.
const addMember = `--- a/include/s.h
+++ b/include/s.h
@@ -1,3 +1,4 @@
 struct s {
 	int a;
+	int b;
 };
`

// load returns a session for addMember on a one-header tree.
func load(t *testing.T, opt Options) *Session {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "include"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "include/s.h"), []byte(header), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := tree.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := patch.Read("add.patch", []byte(addMember), patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(nil, base, set.Patches[0], opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries) != 1 || s.Entries[0].Kind != hazard.StructLayout {
		t.Fatalf("want one struct-layout hazard, got %+v", s.Entries)
	}
	return s
}

func members(p *Pass) []*Entry {
	var out []*Entry
	for _, e := range p.Entries {
		if e.ResolvedBy == "" && e.Change != nil && e.Change.Kind == change.MemberAdded {
			out = append(out, e)
		}
	}
	return out
}

// strategies returns a refusing strategy, a strategy that takes nothing and
// a resolving one, in that order.
func strategies() []*Transform {
	refuser := &Transform{Name: "first", Kinds: []hazard.Kind{hazard.StructLayout},
		Member: &MemberStrategy{Use: "first thing"},
		Run: func(p *Pass) error {
			for _, e := range members(p) {
				p.Refuse(e, "no room")
			}
			return nil
		}}
	picky := &Transform{Name: "picky", Kinds: []hazard.Kind{hazard.StructLayout},
		Member: &MemberStrategy{Use: "picky thing", Takes: func(*change.Change) bool { return false }},
		Run:    func(p *Pass) error { return nil }}
	resolver := &Transform{Name: "last", Kinds: []hazard.Kind{hazard.StructLayout},
		Member: &MemberStrategy{Use: "last thing"},
		Run: func(p *Pass) error {
			for _, e := range members(p) {
				at := strings.Index(string(p.File("include/s.h")), "\tint b;\n")
				p.Edit(edit.Edit{File: "include/s.h", Off: at, End: at + len("\tint b;\n"), Why: "member out", Hazard: e.Hazard})
				p.Resolve(e, "taken out")
			}
			return nil
		}}
	return []*Transform{refuser, picky, resolver}
}

func TestDriverFallbackAndPrefix(t *testing.T) {
	t.Parallel()
	ts := strategies()
	s := load(t, Options{})
	// only the refusing strategy: the action names the strategies after it
	// that take the member, from the registry
	p := &Pass{Session: s, Transform: ts[0]}
	s.transforms = ts
	ts[0].Run(p)
	e := s.Entries[0]
	if diff := cmp.Diff([]string{"first: no room"}, e.Tried); diff != "" {
		t.Errorf("tried (-want +got):\n%s", diff)
	}
	if e.Action != "manual: keep the layout: use a last thing" {
		t.Errorf("action %q", e.Action)
	}

	s = load(t, Options{})
	if err := s.Run(ts); err != nil {
		t.Fatal(err)
	}
	f := s.Findings()[0]
	if !f.Resolved || f.Transform != "last" || f.Action != "last" {
		t.Errorf("finding %+v", f)
	}
	if diff := cmp.Diff([]EditSummary{{File: "include/s.h", What: "member out", Count: 1}}, f.Edits); diff != "" {
		t.Errorf("edits (-want +got):\n%s", diff)
	}
	if got := string(s.File("include/s.h")); got != header {
		t.Errorf("post-image %q", got)
	}
}

func TestDriverStrategySelection(t *testing.T) {
	t.Parallel()
	ts := strategies()
	s := load(t, Options{Strategy: "first"})
	if err := s.Run(ts); err != nil {
		t.Fatal(err)
	}
	e := s.Entries[0]
	if e.ResolvedBy != "" {
		t.Fatalf("resolved by %s though --strategy first", e.ResolvedBy)
	}
	if e.Action != "manual: keep the layout: use a last thing (or run without --strategy)" {
		t.Errorf("action %q", e.Action)
	}
	if diff := cmp.Diff([]string{"first", "picky", "last"}, Strategies(ts)); diff != "" {
		t.Errorf("strategies (-want +got):\n%s", diff)
	}
}

func TestDriverRefusesOverlappingEdits(t *testing.T) {
	t.Parallel()
	s := load(t, Options{})
	clash := &Transform{Name: "clash", Run: func(p *Pass) error {
		p.Edit(edit.Edit{File: "include/s.h", Off: 0, End: 6, Text: "union", Why: "one"})
		p.Edit(edit.Edit{File: "include/s.h", Off: 3, End: 8, Text: "x", Why: "two"})
		return nil
	}}
	err := s.Run([]*Transform{clash})
	if err == nil || !strings.Contains(err.Error(), `include/s.h: conflicting edits at byte 3: "clash: one" and "clash: two"`) {
		t.Errorf("got %v", err)
	}
}

func TestFactComputedOnce(t *testing.T) {
	t.Parallel()
	calls := 0
	fact := &Fact[string, int]{Name: "length", Compute: func(s *Session, key string) (int, error) {
		calls++
		return len(s.File(key)), nil
	}}
	var got []int
	reader := func(name string) *Transform {
		return &Transform{Name: name, Requires: []Requirement{fact}, Run: func(p *Pass) error {
			n, err := fact.Get(p, "include/s.h")
			got = append(got, n)
			return err
		}}
	}
	s := load(t, Options{})
	if err := s.Run([]*Transform{reader("a"), reader("b")}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !cmp.Equal(got, []int{len(header) + len("\tint b;\n"), len(header) + len("\tint b;\n")}) {
		t.Errorf("calls %d, values %v", calls, got)
	}
}

func TestDriverCatchesUndeclaredUse(t *testing.T) {
	t.Parallel()
	fact := &Fact[string, int]{Name: "length", Compute: func(*Session, string) (int, error) { return 0, nil }}
	for name, run := range map[string]func(p *Pass) error{
		"fact": func(p *Pass) error { _, err := fact.Get(p, "x"); return err },
		"kind": func(p *Pass) error { p.Resolve(p.Entries[0], "how"); return nil },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("no panic for an undeclared %s", name)
				}
			}()
			load(t, Options{}).Run([]*Transform{{Name: "sloppy", Run: run}})
		})
	}
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	s := load(t, Options{})
	if got := s.UniqueName("s_get_b"); got != "s_get_b" {
		t.Errorf("free name: %q", got)
	}
	if got := s.UniqueName("a"); got != "a2" {
		t.Errorf("taken name: %q", got)
	}
}
