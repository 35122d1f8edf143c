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
//
// A removed member whose state a member the patch adds to the same struct
// may take over is refused: one of the same type, or, both scalars, any
// integer type for an integer one (unsigned char clocal -> bool
// ignore_dcd) or any pointer for a pointer. Objects that exist when the
// livepatch loads hold that state in the removed member, and the patched
// code reads the new one. The engineer's decision of what existing objects
// read in the new member (--existing "struct S.new=s->old") answers it:
// the removed member then stays, for the decided value to read.
package keep

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
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
	// decided are the engineer's decisions for the members that may take
	// over the removed one's state
	decided []string
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
		ss := successors(p, e)
		if len(ss) > 0 {
			if open := undecided(p, ch, ss); len(open) > 0 {
				// a rename (carrier -> has_carrier, clocal -> ignore_dcd):
				// the state objects hold is in the removed member, which
				// nothing would read any more
				p.RefuseManual(e, successorWhy(ch, open), successorStep(ch, open))
				continue
			}
		}
		at, text, where, why := fc.Restore(ch, p.Parse(e.File))
		if why != "" {
			p.RefuseManual(e, why, "keep the member in the struct and stop using it")
			continue
		}
		r := &removal{entry: e, at: at, text: text, where: where}
		for _, s := range ss {
			k := ch.PreStruct.Kind + " " + ch.Struct + "." + s.name
			r.decided = append(r.decided, fmt.Sprintf("--existing %q", k+"="+p.Options.Existing[k]))
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		p.Edit(edit.Edit{File: r.entry.File, Off: r.at, End: r.at, Text: r.text, Why: "member kept", Hazard: r.entry.Hazard})
		use := "the patched code no longer uses it"
		if len(r.decided) > 0 {
			// the decided value may read the removed member (s->clocal)
			use = "what objects that exist when the livepatch loads read in the member upstream adds instead is the engineer's decision (" + strings.Join(r.decided, ", ") + "), not proven by kprewrite"
		}
		how := fmt.Sprintf("the member stays in %s %s (%s), so the layout objects of the running kernel have is kept; %s",
			r.entry.Change.PreStruct.Kind, r.entry.Change.Struct, r.where, use)
		p.Resolve(r.entry, how)
	}
	return nil
}

// successor is a member the patch adds to the removed member's struct
// that may take over its state.
type successor struct {
	name, typ string
	same      bool // of the removed member's very type (and width)
}

// successors are the members the patch adds to the removed member's
// struct (in the same header) that may take over its state: one of the
// same type (and width), or, when both are scalars, any integer type for
// an integer one (bool, char, enum, a bitfield, any width: unsigned char
// clocal -> bool ignore_dcd) and any pointer for a pointer. A member that
// clearly holds something else (a struct, an array, a lock, an atomic_t)
// is none.
func successors(p *rewrite.Pass, e *rewrite.Entry) []successor {
	ch := e.Change
	norm := func(t string) string { return strings.Join(strings.Fields(t), " ") }
	var out []successor
	for _, o := range p.Entries {
		oc := o.Change
		if oc == nil || oc.Kind != change.MemberAdded || o.File != e.File || oc.Struct != ch.Struct || oc.PostMember == nil {
			continue
		}
		am, rm := oc.PostMember, ch.PreMember
		if norm(am.Type) == norm(rm.Type) && am.Bits == rm.Bits && strings.Join(am.Array, ",") == strings.Join(rm.Array, ",") {
			out = append(out, successor{name: oc.Member, typ: memberType(am), same: true})
			continue
		}
		if c := scalar(am); c != "" && c == scalar(rm) {
			out = append(out, successor{name: oc.Member, typ: memberType(am)})
		}
	}
	return out
}

// undecided returns the successors the engineer made no decision for
// (--existing "struct S.new=EXPR": what objects that exist when the
// livepatch loads read in the new member). With a decision for every
// one the removed member stays: the decision says what the new member
// takes from it (s->old), or that it takes nothing.
func undecided(p *rewrite.Pass, ch *change.Change, ss []successor) []successor {
	var out []successor
	for _, s := range ss {
		if _, ok := p.Options.Existing[ch.PreStruct.Kind+" "+ch.Struct+"."+s.name]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// successorWhy says why the removed member is refused.
func successorWhy(ch *change.Change, ss []successor) string {
	var what []string
	for _, s := range ss {
		if s.same {
			what = append(what, fmt.Sprintf("%s.%s, of the type %s had", ch.Struct, s.name, ch.Member))
		} else {
			what = append(what, fmt.Sprintf("%s.%s (%s), a scalar like %s (%s)", ch.Struct, s.name, s.typ, ch.Member, memberType(ch.PreMember)))
		}
	}
	return fmt.Sprintf("upstream adds %s: if it takes over %s's state, objects that exist when the livepatch loads hold that state in %s, which the patched code no longer reads",
		strings.Join(what, " and "), ch.Member, ch.Member)
}

// successorStep is the engineer's step: the decisions that carry the
// state over (or say the new member takes none of it).
func successorStep(ch *change.Change, ss []successor) string {
	var ds []string
	for _, s := range ss {
		ds = append(ds, fmt.Sprintf("--existing \"%s %s.%s=s->%s\"", ch.PreStruct.Kind, ch.Struct, s.name, ch.Member))
	}
	return fmt.Sprintf("carry the state over (%s gives existing objects the old member's value; a decision with another value, 0 when the new member takes none of it, keeps %s too), or keep using %s in the patched code",
		strings.Join(ds, " and "), ch.Member, ch.Member)
}

// memberType is a member's type as the report shows it ("u8:1").
func memberType(m *ast.Member) string {
	t := strings.Join(strings.Fields(m.Type), " ")
	if m.Bits != "" {
		t += ":" + strings.TrimSpace(m.Bits)
	}
	return t
}

// scalar classifies a member's type: "int" for an integer type (bool,
// char, an enum, the kernel's integer typedefs, a bitfield), "ptr" for a
// pointer, "" for anything else (a struct, an array, a lock, an atomic_t,
// a typedef keep does not know).
func scalar(m *ast.Member) string {
	if m == nil || len(m.Array) > 0 || m.Nested != nil || m.Macro != "" {
		return ""
	}
	t := strings.Join(strings.Fields(strings.ReplaceAll(m.Type, "*", " * ")), " ")
	if strings.Contains(t, "*") {
		return "ptr" // a data or function pointer
	}
	var words []string
	for _, w := range strings.Fields(t) {
		if !qualifiers[w] {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return ""
	}
	if words[0] == "enum" && len(words) == 2 {
		return "int"
	}
	if len(words) == 1 && intTypedefs[words[0]] {
		return "int"
	}
	for _, w := range words {
		if !intWords[w] {
			return ""
		}
	}
	return "int"
}

// qualifiers do not change what a type holds.
var qualifiers = map[string]bool{
	"const": true, "volatile": true, "__rcu": true, "__force": true, "__private": true, "__kernel": true,
	"__user": true, "__iomem": true, "__percpu": true, "__randomize_layout": true,
}

// intWords spell C's integer types.
var intWords = map[string]bool{
	"unsigned": true, "signed": true, "char": true, "short": true, "int": true, "long": true, "bool": true, "_Bool": true,
}

// intTypedefs are the kernel's integer typedefs.
var intTypedefs = map[string]bool{
	"u8": true, "u16": true, "u32": true, "u64": true, "s8": true, "s16": true, "s32": true, "s64": true,
	"__u8": true, "__u16": true, "__u32": true, "__u64": true, "__s8": true, "__s16": true, "__s32": true, "__s64": true,
	"uint8_t": true, "uint16_t": true, "uint32_t": true, "uint64_t": true, "int8_t": true, "int16_t": true, "int32_t": true, "int64_t": true,
	"u_int8_t": true, "u_int16_t": true, "u_int32_t": true, "u_int64_t": true,
	"__le16": true, "__le32": true, "__le64": true, "__be16": true, "__be32": true, "__be64": true, "__sum16": true, "__wsum": true,
	"size_t": true, "ssize_t": true, "loff_t": true, "off_t": true, "pid_t": true, "uid_t": true, "gid_t": true,
	"ktime_t": true, "time64_t": true, "time_t": true, "timeu64_t": true, "sector_t": true, "blkcnt_t": true,
	"dma_addr_t": true, "phys_addr_t": true, "resource_size_t": true, "gfp_t": true, "fmode_t": true, "umode_t": true,
	"slab_flags_t": true, "netdev_features_t": true, "blk_opf_t": true, "blk_status_t": true, "vm_fault_t": true,
	"dev_t": true, "ino_t": true, "nlink_t": true, "uintptr_t": true, "ptrdiff_t": true, "irq_hw_number_t": true,
	"u_char": true, "u_short": true, "u_int": true, "u_long": true, "uint": true, "ulong": true, "ushort": true, "unchar": true,
}
