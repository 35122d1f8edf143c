package rewrite

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/hazard"
)

// TestTaker: the predicted action of a hazard a transform can rewrite as
// it is comes from the registry: the first transform that takes its kind
// and runs, member strategies in registry order and as --strategy chooses.
func TestTaker(t *testing.T) {
	t.Parallel()
	ts := strategies()
	hdr := &Transform{Name: "hdr", Kinds: []hazard.Kind{hazard.HeaderMacro, hazard.HeaderDecl}}
	late := &Transform{Name: "late", Kinds: []hazard.Kind{hazard.HeaderMacro}}
	reg := append([]*Transform{hdr}, append(ts, late)...)
	name := func(tr *Transform) string {
		if tr == nil {
			return ""
		}
		return tr.Name
	}
	for _, c := range []struct {
		kind     hazard.Kind
		auto     bool
		strategy string
		want     string
	}{
		{hazard.HeaderMacro, true, "", "hdr"},
		{hazard.HeaderDecl, true, "", "hdr"},
		{hazard.HeaderMacro, false, "", ""}, // not Auto: the hazard's own action stays
		{hazard.Syscall, true, "", ""},      // no transform takes the kind
		{hazard.StructLayout, true, "", "first"},
		{hazard.StructLayout, true, "last", "last"}, // --strategy skips the others
		{hazard.HeaderMacro, true, "last", "hdr"},   // and leaves other transforms alone
	} {
		h := &hazard.Hazard{Kind: c.kind, Auto: c.auto}
		if got := name(Taker(reg, Options{Strategy: c.strategy}, h)); got != c.want {
			t.Errorf("%s auto %v strategy %q: taker %q, want %q", c.kind, c.auto, c.strategy, got, c.want)
		}
	}
}

// TestPredictedAction: Run makes the predicted transform the action of a
// hazard a transform can rewrite as it is; when that transform refuses
// it, or leaves it unrewritten, the hazard's own action (what the engineer
// does) is back: a prediction never stands for a rewrite that did not
// happen.
func TestPredictedAction(t *testing.T) {
	t.Parallel()
	taker := func(name string, refuse bool) *Transform {
		return &Transform{Name: name, Kinds: []hazard.Kind{hazard.StructLayout}, Run: func(p *Pass) error {
			for _, e := range p.Entries {
				if refuse {
					p.Refuse(e, "cannot")
				}
			}
			return nil
		}}
	}
	for _, c := range []struct {
		name     string
		registry []*Transform
		manual   bool // want the hazard's own action back
		tried    []string
	}{
		{"left alone", []*Transform{taker("idle", false)}, true, []string{"idle: left it unrewritten"}},
		{"refused", []*Transform{taker("refuser", true)}, true, []string{"refuser: cannot"}},
		{"refused by one not predicted", []*Transform{taker("idle", false), taker("refuser", true)}, true, []string{"refuser: cannot", "idle: left it unrewritten"}},
	} {
		s := load(t, Options{})
		e := s.Entries[0]
		e.Auto = true
		own := e.Action
		if err := s.Run(c.registry); err != nil {
			t.Fatal(err)
		}
		want := c.registry[0].Name
		if c.manual {
			want = own
		}
		if e.Action != want {
			t.Errorf("%s: action %q, want %q", c.name, e.Action, want)
		}
		if diff := cmp.Diff(c.tried, e.Tried); diff != "" {
			t.Errorf("%s: tried (-want +got):\n%s", c.name, diff)
		}
	}
}
