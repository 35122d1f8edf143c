package rewrite

import (
	"testing"

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
