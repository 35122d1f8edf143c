package series

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Step is one cumulative livepatch of a series: patches 1..N rewritten as
// one patch against the base tree, which replaces (atomic replace) the
// livepatch of step N-1 over live objects.
type Step struct {
	N        int          // patches it holds
	Patch    *patch.Patch // the rewritten cumulative patch, against the base tree
	Text     []byte       // Patch, rendered with the rewrite's notes
	Upstream *patch.Patch // the upstream change 1..N as one patch on the base tree
	// Placements maps each new member ("struct conn.closing") the
	// rewrite keeps out of its struct to where it lives.
	Placements map[string]Placement
	// Keeps and Drops say what replacing step N-1's livepatch with this
	// one keeps and drops (empty for step 1).
	Keeps, Drops []string
}

// Placement is where a new member lives: the transform that keeps it and
// its words for the place (rewrite.Entry.Placement).
type Placement struct {
	Transform, Where string
}

func (p Placement) String() string {
	if p.Transform == "" {
		return "no placement (unresolved)"
	}
	if p.Where == "" {
		return p.Transform
	}
	return p.Where
}

// MovedError is a cumulative step that would keep a member somewhere else
// than the livepatch it replaces did: the replacing livepatch would not
// find the state the replaced one kept.
type MovedError struct {
	Step     int
	Member   string
	From, To Placement
}

func (e *MovedError) Error() string {
	return fmt.Sprintf("cumulative livepatch %d would move %s from %s to %s and lose what livepatch %d kept there: force livepatch %d's strategy for it with --strategy %s, or ship patch %d as a separate, non-replacing livepatch",
		e.Step, e.Member, e.From, e.To, e.Step-1, e.Step-1, e.From.Transform, e.Step)
}

// Cumulative rewrites every patch of a set in order, as cumulative
// livepatches: step k is the upstream change 1..k (over every set this
// Rewriter has seen) rewritten as one patch against the base tree. Members
// an earlier step kept out of their struct keep their placement: hole
// offsets and shadow ids are pinned, and a step that would still move one
// fails with a *MovedError. report gets, for each patch, a view of its
// session with only the findings this patch brings, and a note saying what
// replacing the previous livepatch keeps and drops.
func (r *Rewriter) Cumulative(set *patch.Set, report func(*rewrite.Session)) ([]*Step, error) {
	var steps []*Step
	for i, p := range set.Patches {
		if err := r.apply(set, i, p); err != nil {
			return nil, err
		}
		r.subjects = append(r.subjects, subjectOf(p, set, i))
		up := r.cumulative(p)
		up.Mail = cumulativeMail(p.Mail, r.subjects)
		s, err := rewrite.Load(r.env, r.env.Tree, up, r.pinned())
		if err != nil {
			return nil, &InputError{err}
		}
		if err := s.Run(r.transforms); err != nil {
			s.Close()
			return nil, err
		}
		st := &Step{N: len(r.subjects), Patch: s.Output(), Upstream: up, Placements: placements(s)}
		st.Text = patch.Render(st.Patch, s.RenderOptions())
		if err := r.keep(st); err != nil {
			s.Close()
			return nil, err
		}
		view := s.Part(p, r.fresh(s))
		if st.N > 1 {
			st.Keeps, st.Drops = replacement(r.placed, newData(s))
			view.Notes = append(slices.Clone(view.Notes), rewrite.Finding{File: set.Name, Kind: "note", Transform: "cumulative", Action: "none",
				Subject: fmt.Sprintf("livepatch %d replaces livepatch %d", st.N, st.N-1),
				Reason:  "keeps: " + strings.Join(st.Keeps, "; ") + ". Drops: " + strings.Join(st.Drops, "; ")})
		}
		report(view)
		s.Close()
		maps.Copy(r.placed, st.Placements)
		steps = append(steps, st)
	}
	return steps, nil
}

// cumulativeMail is the mail of a cumulative patch: the last patch's,
// with a body that names every patch it holds.
func cumulativeMail(m *patch.Mail, subjects []string) *patch.Mail {
	if m == nil || len(subjects) < 2 {
		return m
	}
	c := *m
	var b strings.Builder
	fmt.Fprintf(&b, "Cumulative livepatch %d: it holds patches 1-%d of the series and replaces\nlivepatch %d (atomic replace).\n\n", len(subjects), len(subjects), len(subjects)-1)
	for i, s := range subjects {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	c.Body = b.String() + "\n" + m.Body
	return &c
}

// subjectOf names patch i of set for a cumulative mail: its subject
// without the [PATCH] prefix, or where it comes from.
func subjectOf(p *patch.Patch, set *patch.Set, i int) string {
	sub := strings.TrimSpace(p.Subject())
	if strings.HasPrefix(sub, "[") {
		if j := strings.Index(sub, "]"); j > 0 {
			sub = strings.TrimSpace(sub[j+1:])
		}
	}
	if sub == "" {
		return fmt.Sprintf("%s, patch %d", set.Name, i+1)
	}
	return sub
}

// placements lists where the session keeps each new member.
func placements(s *rewrite.Session) map[string]Placement {
	out := map[string]Placement{}
	for _, e := range s.Entries {
		ch := e.Change
		if ch == nil || ch.Kind != change.MemberAdded || ch.PostStruct == nil {
			continue
		}
		out[ch.PostStruct.Kind+" "+ch.Struct+"."+ch.Member] = Placement{Transform: e.ResolvedBy, Where: e.Placement}
	}
	return out
}

// keep checks that st keeps every member an earlier step placed where that
// step put it.
func (r *Rewriter) keep(st *Step) error {
	for _, m := range slices.Sorted(maps.Keys(r.placed)) {
		was := r.placed[m]
		if was.Transform == "" {
			continue // unresolved before: that step already needed an engineer
		}
		if now, ok := st.Placements[m]; !ok || now != was {
			return &MovedError{Step: st.N, Member: m, From: was, To: now}
		}
	}
	return nil
}

// pinned returns the options of the next step: the hole offsets and
// shadow ids of the members earlier steps placed.
func (r *Rewriter) pinned() rewrite.Options {
	opt := r.opt
	opt.HoleOffsets = maps.Clone(opt.HoleOffsets)
	opt.ShadowIDs = maps.Clone(opt.ShadowIDs)
	for m, pl := range r.placed {
		var n uint64
		var off int64
		switch {
		case pl.Transform == "hole" && scan(pl.Where, "hole: byte %d,", &off):
			if opt.HoleOffsets == nil {
				opt.HoleOffsets = map[string]int64{}
			}
			opt.HoleOffsets[m] = off
		case pl.Transform == "shadow" && scan(pl.Where, "shadow: id 0x%x", &n):
			if opt.ShadowIDs == nil {
				opt.ShadowIDs = map[string]uint64{}
			}
			opt.ShadowIDs[m] = n
		}
	}
	return opt
}

func scan(s, format string, v any) bool {
	n, err := fmt.Sscanf(s, format, v)
	return err == nil && n == 1
}

// replacement says what the livepatch of st keeps and drops when it
// replaces the one before it.
func replacement(before map[string]Placement, vars []string) (keeps, drops []string) {
	var shadows bool
	for _, m := range slices.Sorted(maps.Keys(before)) {
		pl := before[m]
		switch pl.Transform {
		case "":
		case "shadow":
			shadows = true
			keeps = append(keeps, fmt.Sprintf("%s in its shadow variables (%s): atomic replace runs no callback of the replaced livepatch, so its post-unpatch callback does not free them, and this livepatch frees them only when it is disabled itself", m, pl.Where))
		case "hole", "bitfield":
			keeps = append(keeps, fmt.Sprintf("%s in the objects themselves (%s), at the same place", m, pl.Where))
		case "structext":
			keeps = append(keeps, fmt.Sprintf("%s (%s): nothing to carry over, its objects live on the stack of the task that creates them, which switches livepatch only when no patched function is on its stack", m, pl.Where))
		default:
			keeps = append(keeps, fmt.Sprintf("%s (%s)", m, pl))
		}
	}
	if len(keeps) == 0 {
		keeps = append(keeps, "no state: the earlier patches keep no new member out of its struct")
	}
	if len(vars) > 0 {
		drops = append(drops, fmt.Sprintf("the values of the variables the patches add (%s): each livepatch module has its own copy, which starts from its initialiser", strings.Join(vars, ", ")))
	}
	drops = append(drops, "the replaced livepatch's callbacks, which do not run")
	if shadows {
		drops = append(drops, "the shadow variables, should this livepatch's transition be reversed: its post-unpatch callback then frees them while the replaced livepatch still uses them (klp-build and kpatch-build leave struct klp_patch's states unset, so the callback cannot ask klp_get_prev_state() whether a replaced livepatch is still active)")
	}
	return keeps, drops
}

// newData lists the global data the session's upstream change adds
// (hazard new-data), as "file:name".
func newData(s *rewrite.Session) []string {
	var out []string
	for _, e := range s.Entries {
		if e.Kind == hazard.NewData {
			out = append(out, e.File+":"+e.Subject)
		}
	}
	return out
}
