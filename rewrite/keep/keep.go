// Package keep is the transform for a member the upstream change removes
// from a struct: the member stays where it was, so the struct keeps the
// layout objects of the running kernel have. The upstream patch already
// removed every use from the files it changes; a use elsewhere in the tree
// still compiles, because the member is still there.
//
// Before (upstream):	struct tcf_pedit_parms { ... -	u32 tcfp_off_max_hint; ... };
// After (rewritten):	the header hunk is gone: the member stays in the struct,
//
//	unused by the patched code.
//
// The member is put back, with its original lines (comments and #if
// conditions of its own included), after the nearest member before it that
// the upstream struct still has (or before the nearest one after it), as
// change.Restore finds it; verify keeps removed members the same way to
// tell the upstream patch's code changes from the shifts removal causes.
package keep

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/flagback"
)

// Transform is the keep transform.
var Transform = &rewrite.Transform{
	Name:  "keep",
	Doc:   "a member the upstream change removes stays in the struct, at its place, so the running kernel's layout is kept; the patched code no longer uses it",
	Kinds: []hazard.Kind{hazard.StructLayout},
	Run:   run,
}

// removal is one removed member and where it goes back.
type removal struct {
	entry *rewrite.Entry
	at    int    // offset in the current post-image of the header
	text  string // the lines to insert
	where string // "after NAME" or "before NAME"
}

func run(p *rewrite.Pass) error {
	var rs []*removal
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MemberRemoved || ch.PreMember == nil || ch.PreStruct == nil || ch.PostStruct == nil {
			continue
		}
		fc := p.ChangeOf(e.File)
		if fc == nil {
			continue
		}
		if c, where := flagback.Successor(p, ch); c != "" {
			p.RefuseManual(e, fmt.Sprintf("upstream moves what it records to %s%s: objects that exist when the livepatch loads hold it in %s, and the patched code reads %s, which they never set",
				c, where, ch.Member, c), fmt.Sprintf("carry the state over (set %s from %s for every existing object in a pre-patch callback, under the object's lock), or keep using %s in the patched code", c, ch.Member, ch.Member))
			continue
		}
		if added := sameTypeAdded(p, e); added != "" {
			// a rename (carrier -> has_carrier): the state objects hold is
			// in the removed member, which nothing would read any more
			p.RefuseManual(e, fmt.Sprintf("upstream adds %s.%s, of the type %s had: if it takes over %s's state, objects that exist when the livepatch loads hold that state in %s, which the patched code no longer reads",
				ch.Struct, added, ch.Member, ch.Member, ch.Member),
				fmt.Sprintf("carry the state over (--existing \"%s %s.%s=s->%s\" gives existing objects the old member's value), or keep using %s in the patched code", ch.PreStruct.Kind, ch.Struct, added, ch.Member, ch.Member))
			continue
		}
		at, text, where, why := fc.Restore(ch, p.Parse(e.File))
		if why != "" {
			p.RefuseManual(e, why, "keep the member in the struct and stop using it")
			continue
		}
		rs = append(rs, &removal{entry: e, at: at, text: text, where: where})
	}
	for _, r := range rs {
		p.Edit(edit.Edit{File: r.entry.File, Off: r.at, End: r.at, Text: r.text, Why: "member kept", Hazard: r.entry.Hazard})
		p.Resolve(r.entry, fmt.Sprintf("the member stays in %s %s (%s), so the layout objects of the running kernel have is kept; the patched code no longer uses it",
			r.entry.Change.PreStruct.Kind, r.entry.Change.Struct, r.where))
	}
	return nil
}

// sameTypeAdded names a member the patch adds to the removed member's
// struct with the same type (and width): a rename, or what takes over the
// removed member's state.
func sameTypeAdded(p *rewrite.Pass, e *rewrite.Entry) string {
	ch := e.Change
	norm := func(t string) string { return strings.Join(strings.Fields(t), " ") }
	for _, o := range p.Entries {
		oc := o.Change
		if oc == nil || oc.Kind != change.MemberAdded || o.File != e.File || oc.Struct != ch.Struct || oc.PostMember == nil {
			continue
		}
		if norm(oc.PostMember.Type) == norm(ch.PreMember.Type) && oc.PostMember.Bits == ch.PreMember.Bits &&
			strings.Join(oc.PostMember.Array, ",") == strings.Join(ch.PreMember.Array, ",") {
			return oc.Member
		}
	}
	return ""
}
