// Package ifcond is the transform for struct changes the config makes a
// no-op: a member's #if condition that changes (an #ifdef CONFIG_PM
// removed around members, with CONFIG_PM=y), a member added or removed
// under a condition the config leaves false. Under the config the struct's
// definition is the same before and after, member for member, so the
// change is no hazard for this config; the original definition stays in
// the header (its lines too: __LINE__ does not move) and the report says
// why.
//
// Before (upstream):	-#ifdef CONFIG_PM
//
//	int (*suspend)(struct hid_device *hdev, pm_message_t message);
//	-#endif
//
// After (rewritten):	the header hunk is gone (CONFIG_PM=y: suspend was
//
//	there before and is there after).
//
// The proof is the preprocessed definition: every member whose condition
// holds under the config, with its type, name, array dimensions and
// bitfield width, in order, must be identical; a condition the config
// cannot decide (an architecture macro) must then be the same condition.
// When it is not (a member added under #ifdef DEBUG, which fs/xfs/xfs.h
// defines under CONFIG_XFS_DEBUG), the compiler decides it: every file the
// config builds that includes the header is preprocessed with the
// condition probed where the struct is defined (compiler.go), and the
// definitions must be identical under each set of values the files see.
// When the compiler cannot tell, the refusal says under which values the
// change is a no-op and how to check it. A flexible array member
// respelled with __DECLARE_FLEX_ARRAY(TYPE, NAME) is the same "TYPE
// NAME[]" (the uapi headers' 6.1 stable change): also a no-op.
package ifcond

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the ifcond transform.
var Transform = &rewrite.Transform{
	Name:  "ifcond",
	Doc:   "a struct change the config makes a no-op (a member's #if condition changed, a member added or removed under a condition the config leaves false) is dropped: the preprocessed definition is the same before and after",
	Kinds: []hazard.Kind{hazard.StructLayout},
	Run:   run,
}

var memberKinds = map[change.Kind]bool{
	change.MemberAdded: true, change.MemberRemoved: true, change.MemberRetyped: true, change.MemberBits: true,
	change.MemberReordered: true, change.MemberCond: true,
}

func run(p *rewrite.Pass) error {
	if p.Env == nil || p.Env.Config == nil {
		return nil
	}
	type group struct {
		pre, post *ast.Struct
		file      string
		entries   []*rewrite.Entry
	}
	var order []*ast.Struct
	groups := map[*ast.Struct]*group{}
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || !memberKinds[ch.Kind] || ch.PreStruct == nil || ch.PostStruct == nil {
			continue
		}
		g := groups[ch.PostStruct]
		if g == nil {
			g = &group{pre: ch.PreStruct, post: ch.PostStruct, file: e.File}
			groups[ch.PostStruct] = g
			order = append(order, ch.PostStruct)
		}
		g.entries = append(g.entries, e)
	}
	// the struct changes the member model does not see (an attribute, a
	// member declared again) are not proven by the member comparison
	other := map[string]bool{}
	for _, e := range p.Entries {
		if ch := e.Change; ch != nil && ch.Kind == change.StructOther {
			other[e.File+" "+ch.Struct] = true
		}
	}
	changedMacros := patchMacros(p)
	for _, k := range order {
		g := groups[k]
		fc := p.ChangeOf(g.file)
		if fc == nil || fc.Pre == nil || fc.Post == nil || other[g.file+" "+g.post.Name] {
			continue
		}
		pre, why := preprocessed(p.Env.Config, g.pre.Members, changedMacros, nil)
		if why != "" {
			continue
		}
		post, why := preprocessed(p.Env.Config, g.post.Members, changedMacros, nil)
		if why != "" {
			continue
		}
		cur := change.SameStruct(fc.Post, g.post, p.Parse(g.file))
		evidence, members := "", len(pre)
		var known map[string]bool
		if strings.Join(pre, "; ") != strings.Join(post, "; ") {
			// a condition the config cannot decide (DEBUG, which a
			// header defines under a CONFIG_ option): the compiler can
			terms := unknownTerms(p.Env.Config, g.pre.Members, g.post.Members)
			if len(terms) == 0 || cur == nil {
				continue
			}
			k, n, how, why := compilerNoOp(p, g.file, p.Parse(g.file), cur, g.pre.Members, g.post.Members, terms, changedMacros)
			if why != "" {
				for _, e := range g.entries {
					p.Refuse(e, why)
				}
				continue
			}
			if how == "" {
				continue // not a no-op under the config
			}
			known, members, evidence = k, n, "; "+how
		}
		if cur == nil || p.Parse(g.file).Text(cur.Span) != fc.Post.Text(g.post.Span) {
			for _, e := range g.entries {
				p.RefuseManual(e, "under this config the change is a no-op, but another transform changed the struct first",
					"restore the original definition of "+g.post.Kind+" "+g.post.Name+" in the header")
			}
			continue
		}
		p.Edit(edit.Edit{File: g.file, Off: cur.Span.Off, End: cur.Span.End, Text: fc.Pre.Text(g.pre.Span),
			Why: "original definition kept", Hazard: g.entries[0].Hazard})
		for _, e := range g.entries {
			p.Resolve(e, fmt.Sprintf("a no-op under this config: the preprocessed definition of %s %s is the same before and after (%d members, in order)%s, so the original definition stays",
				g.post.Kind, g.post.Name, members, evidence))
		}
		p.Note(rewrite.Finding{File: g.file, Line: g.entries[0].Line, Subject: g.post.Kind + " " + g.post.Name,
			Reason: "the upstream change to this definition is dropped: " + condsText(p.Env.Config, g.entries, known) + "; verify's layout check proves the layout is unchanged"})
	}
	return nil
}

// preprocessed lists the members the config compiles, as normalised
// declarations, nested aggregates included; or why the config cannot
// decide.
//
// A condition the config cannot decide is taken to be the same before and
// after only when no macro it names is one the patch adds, changes or
// removes (changed): otherwise its value may be what the patch changes.
func preprocessed(cfg *kbuild.Config, ms []*ast.Member, changed map[string]bool, known map[string]bool) ([]string, string) {
	var out []string
	for _, m := range ms {
		// a condition the config cannot decide (a header's own macro,
		// KVM_CAP_IRQ_ROUTING) stays part of the member's text: the same
		// members under the same conditions preprocess the same way
		under := ""
		switch evalCond(cfg, m.Cond, known) {
		case kbuild.TriUnknown:
			for _, t := range m.Cond {
				for _, id := range identRE.FindAllString(t.Expr, -1) {
					if changed[id] {
						return nil, fmt.Sprintf("the condition %q names %s, which the patch changes", m.Cond.String(), id)
					}
				}
			}
			under = "#if " + m.Cond.String() + ": "
		case kbuild.False:
			continue
		}
		if m.Nested != nil {
			inner, why := preprocessed(cfg, m.Nested.Members, changed, known)
			if why != "" {
				return nil, why
			}
			out = append(out, under+m.Nested.Kind+" { "+strings.Join(inner, "; ")+" } "+m.Name)
			continue
		}
		out = append(out, under+memberText(m))
	}
	return out, ""
}

// identRE matches the identifiers of a condition.
var identRE = regexp.MustCompile(`[A-Za-z_]\w*`)

// patchMacros are the macros the patch adds, changes or removes, in any of
// its files.
func patchMacros(p *rewrite.Pass) map[string]bool {
	out := map[string]bool{}
	for _, fc := range p.Changes {
		for _, ch := range fc.Changes {
			switch ch.Kind {
			case change.MacroAdded, change.MacroChanged, change.MacroRemoved:
				out[ch.Name] = true
			}
		}
	}
	return out
}

// flexArrayRE is the uapi/kernel macro that declares a flexible array
// member where C alone may not (alone in a union or struct):
// __DECLARE_FLEX_ARRAY(TYPE, NAME) is struct { struct { } __empty_NAME;
// TYPE NAME[]; }, laid out and used exactly as "TYPE NAME[];".
var flexArrayRE = regexp.MustCompile(`^(?:__)?DECLARE_FLEX_ARRAY\s*\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*;?$`)

// memberText is change.MemberText, with a flexible array declared through
// DECLARE_FLEX_ARRAY spelled as the plain "TYPE NAME[]" it stands for.
func memberText(m *ast.Member) string {
	if fm := flexArrayRE.FindStringSubmatch(strings.TrimSpace(m.Macro)); fm != nil {
		f := ast.Parse("flex.h", []byte("struct flex {\n\t"+fm[1]+" "+fm[2]+"[];\n};\n"))
		if st := f.Struct("flex"); st != nil && len(st.Members) == 1 {
			return change.MemberText(st.Members[0])
		}
	}
	return change.MemberText(m)
}

// condsText says, for the report, what each changed condition is under the
// config.
func condsText(cfg *kbuild.Config, es []*rewrite.Entry, known map[string]bool) string {
	var parts []string
	for _, e := range es {
		ch := e.Change
		switch ch.Kind {
		case change.MemberCond:
			v := "false"
			if evalCond(cfg, ch.PostMember.Cond, known) == kbuild.True {
				v = "true"
			}
			parts = append(parts, fmt.Sprintf("%s: #if %q -> %q, both %s under the config", ch.Member, orAlways(ch.Old), orAlways(ch.New), v))
		case change.MemberAdded:
			parts = append(parts, fmt.Sprintf("%s: added under #if %s, false under the config", ch.Member, ch.PostMember.Cond))
		case change.MemberRemoved:
			parts = append(parts, fmt.Sprintf("%s: removed from under #if %s, false under the config", ch.Member, ch.PreMember.Cond))
		default:
			parts = append(parts, fmt.Sprintf("%s: %s, compiled out by the config", ch.Subject, ch.Kind))
		}
	}
	return strings.Join(parts, "; ")
}

func orAlways(s string) string {
	if s == "" {
		return "always"
	}
	return s
}
