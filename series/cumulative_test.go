package series_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/series"
	"github.com/kprewrite/kprewrite/transforms"
	"github.com/kprewrite/kprewrite/tree"
)

func oneSet(t *testing.T, file string) *patch.Set {
	t.Helper()
	return &patch.Set{Name: file, Patches: []*patch.Patch{rewritetest.ReadPatch(t, file)}}
}

// TestCumulativeKeepsPlacements: patch 1 puts conn.closing in the first
// hole of struct conn (byte 18); patch 2 adds conn.retries before it in
// the struct, which a fresh rewrite of patches 1+2 places first, in byte
// 18, moving closing to byte 20. The cumulative step 2 must keep closing
// where livepatch 1 keeps it.
func TestCumulativeKeepsPlacements(t *testing.T) {
	t.Parallel()
	dir := rewritetest.TreeDir(t, "conn")
	env := rewritetest.Env(t, dir, dir+"/config")
	rw := series.New(env, rewrite.Options{Dialect: "klp"}, transforms.All())
	var steps []*series.Step
	var notes []rewrite.Finding
	for _, f := range []string{"testdata/01-closing.patch", "testdata/02-retries.patch"} {
		st, err := rw.Cumulative(oneSet(t, f), func(s *rewrite.Session) {
			for _, n := range s.Findings() {
				if n.Transform == "cumulative" {
					notes = append(notes, n)
				}
			}
		})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		steps = append(steps, st...)
	}
	if len(steps) != 2 {
		t.Fatalf("%d steps, want 2", len(steps))
	}
	want1 := map[string]series.Placement{"struct conn.closing": {Transform: "hole", Where: "hole: byte 18, 1 bytes"}}
	if d := cmp.Diff(want1, steps[0].Placements); d != "" {
		t.Errorf("step 1 placements (-want +got):\n%s", d)
	}
	want2 := map[string]series.Placement{
		"struct conn.closing": {Transform: "hole", Where: "hole: byte 18, 1 bytes"},
		"struct conn.retries": {Transform: "hole", Where: "hole: byte 20, 2 bytes"},
	}
	if d := cmp.Diff(want2, steps[1].Placements); d != "" {
		t.Errorf("step 2 placements (-want +got):\n%s", d)
	}

	// Without the pin, the same cumulative change moves closing.
	s := rewritetest.Load(t, env, steps[1].Upstream, rewrite.Options{Dialect: "klp"})
	if err := s.Run(transforms.All()); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.Entries {
		if strings.HasSuffix(e.Subject, "closing") && e.Placement == "hole: byte 18, 1 bytes" {
			t.Errorf("an unpinned rewrite of patches 1+2 keeps closing at byte 18 too: the test no longer shows the pin")
		}
	}

	// Each step is a whole patch on the base tree: step 2 holds both fixes.
	base, err := tree.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		ov := tree.NewOverlay(base)
		res, err := st.Patch.Apply(ov)
		if err != nil {
			t.Fatalf("step %d does not apply on the base tree: %v", st.N, err)
		}
		for _, r := range res {
			ov.Set(r.Path, r.New)
		}
		src, _ := ov.ReadFile("net/conn/conn_core.c")
		hdr, _ := ov.ReadFile("include/linux/conn.h")
		if strings.Contains(string(hdr), "closing") || strings.Contains(string(hdr), "retries") {
			t.Errorf("step %d changes struct conn:\n%s", st.N, hdr)
		}
		has := strings.Contains(string(src), "conn_refused++")
		if has != (st.N == 2) {
			t.Errorf("step %d: holds patch 2's change = %v", st.N, has)
		}
	}
	body := steps[1].Patch.Mail.Body
	for _, want := range []string{"Cumulative livepatch 2", "1. conn: refuse accounting while closing", "2. conn: count accounting refused while closing"} {
		if !strings.Contains(body, want) {
			t.Errorf("step 2's mail lacks %q:\n%s", want, body)
		}
	}

	// What replacing livepatch 1 keeps and drops, in the step and the report.
	if len(steps[0].Keeps)+len(steps[0].Drops) != 0 {
		t.Errorf("step 1 replaces nothing, yet keeps %v drops %v", steps[0].Keeps, steps[0].Drops)
	}
	wantKeeps := []string{"struct conn.closing in the objects themselves (hole: byte 18, 1 bytes), at the same place"}
	if d := cmp.Diff(wantKeeps, steps[1].Keeps); d != "" {
		t.Errorf("keeps (-want +got):\n%s", d)
	}
	if len(steps[1].Drops) == 0 || !strings.Contains(steps[1].Drops[0], "(net/conn/conn_core.c:conn_refused)") {
		t.Errorf("drops %q: want the new static conn_refused first", steps[1].Drops)
	}
	if len(notes) != 1 || notes[0].Subject != "livepatch 2 replaces livepatch 1" || !strings.Contains(notes[0].Reason, "keeps: struct conn.closing") {
		t.Errorf("report notes %+v", notes)
	}
}

// TestCumulativeRefusesMove: patch 3 widens conn.closing to a u32, which
// byte 18 (where livepatch 1 keeps the bool) cannot hold at its
// alignment: the step fails with a MovedError naming both places instead
// of writing a livepatch that would not find livepatch 1's state.
func TestCumulativeRefusesMove(t *testing.T) {
	t.Parallel()
	dir := rewritetest.TreeDir(t, "conn")
	env := rewritetest.Env(t, dir, dir+"/config")
	rw := series.New(env, rewrite.Options{Dialect: "klp"}, transforms.All())
	if _, err := rw.Cumulative(oneSet(t, "testdata/01-closing.patch"), func(*rewrite.Session) {}); err != nil {
		t.Fatal(err)
	}
	_, err := rw.Cumulative(oneSet(t, "testdata/03-wide.patch"), func(*rewrite.Session) {})
	var me *series.MovedError
	if !errors.As(err, &me) {
		t.Fatalf("want a MovedError, got %v", err)
	}
	t.Logf("%v", err)
	if me.Step != 2 || me.Member != "struct conn.closing" || me.From.Where != "hole: byte 18, 1 bytes" || me.To.Transform == "hole" && me.To.Where == me.From.Where {
		t.Errorf("%+v", me)
	}
}

func TestMovedErrorSaysWhatToDo(t *testing.T) {
	e := &series.MovedError{Step: 3, Member: "struct conn.closing",
		From: series.Placement{Transform: "hole", Where: "hole: byte 18, 1 bytes"}, To: series.Placement{Transform: "shadow", Where: "shadow: id 0x1"}}
	want := "cumulative livepatch 3 would move struct conn.closing from hole: byte 18, 1 bytes to shadow: id 0x1 and lose what livepatch 2 kept there: force livepatch 2's strategy for it with --strategy hole when that strategy can still hold the member as patch 3 declares it (spare bits cannot hold a member that is no longer a bitfield), or ship patch 3 as a separate, non-replacing livepatch (or carry the state over in a klp_state callback, as cumulative-patches.rst describes)"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
	var me *series.MovedError
	if !errors.As(error(e), &me) {
		t.Error("not a MovedError")
	}
}

// TestCumulativeNewStrategy: a member strategy the series package has never
// heard of is pinned and described through its own MemberStrategy.Pin and
// Keeps (and Drops): a new strategy needs no change in series.
func TestCumulativeNewStrategy(t *testing.T) {
	t.Parallel()
	type pinCall struct{ Member, Where string }
	var pins []pinCall
	toy := &rewrite.Transform{
		Name:  "toy",
		Doc:   "keeps every new member in a toy slot",
		Kinds: []hazard.Kind{hazard.StructLayout},
		Member: &rewrite.MemberStrategy{
			Use: "toy slot",
			Pin: func(opt rewrite.Options, m, where string) rewrite.Options {
				pins = append(pins, pinCall{m, where})
				return opt
			},
			Keeps: func(m, where string) string { return m + " in its toy slot (" + where + ")" },
			Drops: "the toy slots' history",
		},
		Run: func(p *rewrite.Pass) error {
			for _, e := range p.Entries {
				if e.ResolvedBy == "" && e.Change != nil && e.Change.Kind == change.MemberAdded {
					p.Resolve(e, "in a toy slot")
					e.Placement = "toy: slot of " + e.Change.Member
				}
			}
			return nil
		},
	}
	dir := rewritetest.TreeDir(t, "conn")
	rw := series.New(rewritetest.Env(t, dir, ""), rewrite.Options{Dialect: "klp"}, []*rewrite.Transform{toy})
	var steps []*series.Step
	for _, f := range []string{"testdata/01-closing.patch", "testdata/02-retries.patch"} {
		st, err := rw.Cumulative(oneSet(t, f), func(*rewrite.Session) {})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		steps = append(steps, st...)
	}
	if d := cmp.Diff([]pinCall{{"struct conn.closing", "toy: slot of closing"}}, pins); d != "" {
		t.Errorf("pins (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"struct conn.closing in its toy slot (toy: slot of closing)"}, steps[1].Keeps); d != "" {
		t.Errorf("keeps (-want +got):\n%s", d)
	}
	if n := len(steps[1].Drops); n == 0 || steps[1].Drops[n-1] != "the toy slots' history" {
		t.Errorf("drops %q: want the strategy's own last", steps[1].Drops)
	}
}
