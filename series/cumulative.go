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
	return fmt.Sprintf("cumulative livepatch %d would move %s from %s to %s and lose what livepatch %d kept there: force livepatch %d's strategy for it with --strategy %s when that strategy can still hold the member as patch %d declares it (spare bits cannot hold a member that is no longer a bitfield), or ship patch %d as a separate, non-replacing livepatch (or carry the state over in a klp_state callback, as cumulative-patches.rst describes)",
		e.Step, e.Member, e.From, e.To, e.Step-1, e.Step-1, e.From.Transform, e.Step, e.Step)
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
			st.Keeps, st.Drops = r.replacement(r.placed, newData(s))
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

// pinned returns the options of the next step: each member an earlier
// step placed, pinned by the strategy that placed it (its MemberStrategy.Pin).
func (r *Rewriter) pinned() rewrite.Options {
	opt := r.opt
	for _, m := range slices.Sorted(maps.Keys(r.placed)) {
		pl := r.placed[m]
		if st := r.strategy(pl.Transform); st != nil && st.Pin != nil {
			opt = st.Pin(opt, m, pl.Where)
		}
	}
	return opt
}

// strategy returns the member strategy of the named transform, or nil.
func (r *Rewriter) strategy(name string) *rewrite.MemberStrategy {
	for _, t := range r.transforms {
		if t.Name == name && t.Member != nil {
			return t.Member
		}
	}
	return nil
}

// replacement says what the livepatch of st keeps and drops when it
// replaces the one before it, in the words of the strategies that placed
// the members (MemberStrategy.Keeps and Drops).
func (r *Rewriter) replacement(before map[string]Placement, vars []string) (keeps, drops []string) {
	var lost []string // Drops of the strategies that placed a member, once each
	for _, m := range slices.Sorted(maps.Keys(before)) {
		pl := before[m]
		if pl.Transform == "" {
			continue
		}
		st := r.strategy(pl.Transform)
		if st != nil && st.Keeps != nil {
			keeps = append(keeps, st.Keeps(m, pl.Where))
		} else {
			keeps = append(keeps, fmt.Sprintf("%s (%s)", m, pl))
		}
		if st != nil && st.Drops != "" && !slices.Contains(lost, st.Drops) {
			lost = append(lost, st.Drops)
		}
	}
	if len(keeps) == 0 {
		keeps = append(keeps, "no state: the earlier patches keep no new member out of its struct")
	}
	if len(vars) > 0 {
		drops = append(drops, fmt.Sprintf("the values of the variables the patches add (%s): each livepatch module has its own copy, which starts from its initialiser", strings.Join(vars, ", ")))
	}
	drops = append(drops, "the replaced livepatch's callbacks, which do not run")
	return keeps, append(drops, lost...)
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
