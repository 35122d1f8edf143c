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
// the upstream struct still has (or before the nearest one after it).
package keep

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
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
		r, why := place(p, e)
		if why != "" {
			p.RefuseManual(e, why, "keep the member in the struct and stop using it")
			continue
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		p.Edit(edit.Edit{File: r.entry.File, Off: r.at, End: r.at, Text: r.text, Why: "member kept", Hazard: r.entry.Hazard})
		p.Resolve(r.entry, fmt.Sprintf("the member stays in %s %s (%s), so the layout objects of the running kernel have is kept; the patched code no longer uses it",
			r.entry.Change.PreStruct.Kind, r.entry.Change.Struct, r.where))
	}
	return nil
}

// place finds where the removed member of e goes back in the current
// post-image of its header, or says why it cannot.
func place(p *rewrite.Pass, e *rewrite.Entry) (*removal, string) {
	ch := e.Change
	fc := p.ChangeOf(e.File)
	if fc == nil || fc.Pre == nil || fc.Post == nil {
		return nil, "the header is created or deleted by the patch"
	}
	cur := p.Parse(e.File)
	post := sameStruct(fc.Post, ch.PostStruct, cur)
	if post == nil {
		return nil, "cannot find struct " + ch.Struct + " in the rewritten header"
	}
	pm := ch.PreMember
	sibs, chain := siblings(ch.PreStruct, pm)
	if sibs == nil {
		return nil, "cannot find the member in the original struct"
	}
	text, why := memberLines(fc.Pre, sibs, pm)
	if why != "" {
		return nil, why
	}
	i := indexOf(sibs, pm)
	// the nearest member before it that the struct still has, at the same
	// depth; else the nearest one after it
	for k := i - 1; k >= 0; k-- {
		if a := find(post, sibs[k], chain); a != nil {
			if t, ok := wrapCond(fc.Pre, pm, sibs[k].Cond, a.Cond, text); ok {
				return &removal{entry: e, at: lineEnd(cur.Src, a.Decl.End), text: t, where: "after " + label(a)}, ""
			}
			break
		}
	}
	for k := i + 1; k < len(sibs); k++ {
		if a := find(post, sibs[k], chain); a != nil {
			if t, ok := wrapCond(fc.Pre, pm, sibs[k].Cond, a.Cond, text); ok {
				return &removal{entry: e, at: lineStart(cur.Src, a.Decl.Off), text: t, where: "before " + label(a)}, ""
			}
			break
		}
	}
	return nil, "no member next to it in the upstream struct has the same #if conditions to anchor it on"
}

// sameStruct returns the definition in cur that is s of post: the same
// kind and tag, the same occurrence among top-level definitions.
func sameStruct(post *ast.File, s *ast.Struct, cur *ast.File) *ast.Struct {
	n := 0
	for _, o := range post.Structs {
		if o == s {
			break
		}
		if o.Parent == nil && o.Kind == s.Kind && o.Name == s.Name {
			n++
		}
	}
	for _, o := range cur.Structs {
		if o.Parent == nil && o.Kind == s.Kind && o.Name == s.Name {
			if n == 0 {
				return o
			}
			n--
		}
	}
	return nil
}

// siblings returns the member list of s (or a struct nested in it) that
// holds m, with the names of the members that lead to it from s ("" for an
// anonymous nested struct or union, with its kind).
func siblings(s *ast.Struct, m *ast.Member) ([]*ast.Member, []string) {
	for _, x := range s.Members {
		if x == m {
			return s.Members, nil
		}
	}
	for _, x := range s.Members {
		if x.Nested == nil {
			continue
		}
		if sibs, chain := siblings(x.Nested, m); sibs != nil {
			return sibs, append([]string{x.Nested.Kind + " " + x.Name}, chain...)
		}
	}
	return nil, nil
}

// find returns the member of s matching m (by name, or by macro text for a
// member a macro makes) in the member list chain leads to.
func find(s *ast.Struct, m *ast.Member, chain []string) *ast.Member {
	if m.Name == "" && m.Macro == "" {
		return nil
	}
	list, found := s.Members, true
	for _, c := range chain {
		found = false
		for _, x := range list {
			if x.Nested != nil && x.Nested.Kind+" "+x.Name == c {
				list, found = x.Nested.Members, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	for _, x := range list {
		if x.Name == m.Name && x.Macro == m.Macro && (x.Nested == nil) == (m.Nested == nil) {
			return x
		}
	}
	return nil
}

func indexOf(ms []*ast.Member, m *ast.Member) int {
	for i, x := range ms {
		if x == m {
			return i
		}
	}
	return -1
}

func label(m *ast.Member) string {
	if m.Name != "" {
		return m.Name
	}
	return m.Macro
}

// memberLines returns the original lines that declare m: the whole lines
// of its declaration when it is alone on them, else the declaration
// rebuilt from its normalised text.
func memberLines(f *ast.File, sibs []*ast.Member, m *ast.Member) (string, string) {
	shared := false
	for _, x := range sibs {
		if x != m && x.Group == m.Group {
			shared = true
		}
	}
	from, to := lineStart(f.Src, m.Decl.Off), lineEnd(f.Src, m.Decl.End)
	alone := true
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment || t.End <= from || t.Off >= to {
			continue
		}
		if t.Off < m.Decl.Off || t.Off >= m.Decl.End {
			alone = false
		}
	}
	if !shared && alone {
		return string(f.Src[from:to]), ""
	}
	if m.Nested != nil {
		return "", "it shares its declaration with other members and defines a nested struct"
	}
	indent := f.Src[from:m.Decl.Off]
	if strings.TrimSpace(string(indent)) != "" {
		indent = []byte("\t")
	}
	return string(indent) + change.MemberText(m) + ";\n", ""
}

// wrapCond puts text under the #if conditions the removed member m has
// beyond those of its neighbour; the neighbour must have the same
// conditions before and after the change. When m's declaration is the
// only thing between its own #if and #endif lines in the original (pre),
// those lines are kept as they were.
func wrapCond(pre *ast.File, m *ast.Member, neighbourPre, neighbourPost ast.Cond, text string) (string, bool) {
	member := m.Cond
	if !neighbourPre.Equal(neighbourPost) || len(member) < len(neighbourPre) || !ast.Cond(member[:len(neighbourPre)]).Equal(neighbourPre) {
		return "", false
	}
	extra := member[len(neighbourPre):]
	if len(extra) == 0 {
		return text, true
	}
	if raw, ok := ownBlock(pre, m, len(extra), text); ok {
		return raw, true
	}
	var b strings.Builder
	for _, t := range extra {
		if t.Want {
			fmt.Fprintf(&b, "#if %s\n", t.Expr)
		} else {
			fmt.Fprintf(&b, "#if !(%s)\n", t.Expr)
		}
	}
	b.WriteString(text)
	for range extra {
		b.WriteString("#endif\n")
	}
	return b.String(), true
}

// ownBlock returns the original lines of m with the n #if lines right
// before them and the n #endif lines right after them, when those are
// there and text is m's original lines.
func ownBlock(pre *ast.File, m *ast.Member, n int, text string) (string, bool) {
	from, to := lineStart(pre.Src, m.Decl.Off), lineEnd(pre.Src, m.Decl.End)
	if string(pre.Src[from:to]) != text {
		return "", false
	}
	for range n {
		if from == 0 {
			return "", false
		}
		prev := lineStart(pre.Src, from-1)
		w := strings.Fields(strings.TrimPrefix(strings.TrimSpace(string(pre.Src[prev:from])), "#"))
		if !strings.HasPrefix(strings.TrimSpace(string(pre.Src[prev:from])), "#") || len(w) == 0 || (w[0] != "if" && w[0] != "ifdef" && w[0] != "ifndef") {
			return "", false
		}
		from = prev
		next := lineEnd(pre.Src, to)
		l := strings.TrimSpace(string(pre.Src[to:next]))
		w = strings.Fields(strings.TrimPrefix(l, "#"))
		if !strings.HasPrefix(l, "#") || len(w) == 0 || w[0] != "endif" {
			return "", false
		}
		to = next
	}
	return string(pre.Src[from:to]), true
}

// lineStart is the offset of the start of the line holding off.
func lineStart(src []byte, off int) int {
	for off > 0 && src[off-1] != '\n' {
		off--
	}
	return off
}

// lineEnd is the offset just past the newline of the line holding off-1
// (the line a span ending at off ends on).
func lineEnd(src []byte, off int) int {
	for off < len(src) && src[off] != '\n' {
		off++
	}
	if off < len(src) {
		off++
	}
	return off
}
