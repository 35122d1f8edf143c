package change

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// Restore says where the member a MemberRemoved change removes goes back
// in cur, a model of the file's post-image (the upstream one or a
// rewritten one): the offset to insert at, the lines to insert (the
// member's original lines, under the #if conditions it had beyond its
// neighbour's) and which neighbour anchors it ("after tcfp_keys_ex").
// The anchor is the nearest member before it that the struct still has at
// the same depth, else the nearest one after it. why says why it cannot
// be put back ("" when it can).
func (fc *File) Restore(ch *Change, cur *ast.File) (at int, text, where, why string) {
	if ch.Kind != MemberRemoved || ch.PreMember == nil || ch.PreStruct == nil || ch.PostStruct == nil {
		return 0, "", "", "not a removed member"
	}
	if fc.Pre == nil || fc.Post == nil {
		return 0, "", "", "the header is created or deleted by the patch"
	}
	post := SameStruct(fc.Post, ch.PostStruct, cur)
	if post == nil {
		return 0, "", "", "cannot find struct " + ch.Struct + " in the rewritten header"
	}
	pm := ch.PreMember
	sibs, chain := siblings(ch.PreStruct, pm)
	if sibs == nil {
		return 0, "", "", "cannot find the member in the original struct"
	}
	text, why = memberLines(fc.Pre, sibs, pm)
	if why != "" {
		return 0, "", "", why
	}
	i := indexOf(sibs, pm)
	for k := i - 1; k >= 0; k-- {
		if a := find(post, sibs[k], chain); a != nil {
			if t, ok := wrapCond(fc.Pre, pm, sibs[k].Cond, a.Cond, text); ok {
				return ast.LineEnd(cur.Src, a.Decl.End), t, "after " + label(a), ""
			}
			break
		}
	}
	for k := i + 1; k < len(sibs); k++ {
		if a := find(post, sibs[k], chain); a != nil {
			if t, ok := wrapCond(fc.Pre, pm, sibs[k].Cond, a.Cond, text); ok {
				return ast.LineStart(cur.Src, a.Decl.Off), t, "before " + label(a), ""
			}
			break
		}
	}
	// the last of the list: no member of the upstream list follows it or
	// is new after the ones kept before it, so it goes back before the
	// closing brace, under the conditions it had beyond its struct's
	if preList, curList := nestedList(ch.PreStruct, chain), nestedList(post, chain); preList != nil && curList != nil && lastKept(curList, sibs[:i]) {
		brace := curList.Body.End
		at := ast.LineStart(cur.Src, brace)
		if t, ok := wrapCond(fc.Pre, pm, preList.Cond, curList.Cond, text); ok && strings.TrimSpace(string(cur.Src[at:brace])) == "" {
			return at, t, "at the end of " + preList.Kind + " " + ch.Struct, ""
		}
	}
	return 0, "", "", "no member next to it in the upstream struct has the same #if conditions to anchor it on"
}

// nestedList returns the struct or union of s that chain (siblings')
// leads to: s itself for an empty chain.
func nestedList(s *ast.Struct, chain []string) *ast.Struct {
	for _, c := range chain {
		var next *ast.Struct
		for _, x := range s.Members {
			if x.Nested != nil && x.Nested.Kind+" "+x.Name == c {
				next = x.Nested
				break
			}
		}
		if next == nil {
			return nil
		}
		s = next
	}
	return s
}

// lastKept reports whether the member list of s is empty or ends with a
// member of before (members of the original list that precede the
// removed one), so that nothing upstream adds or keeps follows the place
// the removed member had.
func lastKept(s *ast.Struct, before []*ast.Member) bool {
	if len(s.Members) == 0 {
		return true
	}
	last := s.Members[len(s.Members)-1]
	for _, b := range before {
		if last.Name == b.Name && last.Macro == b.Macro && (last.Nested == nil) == (b.Nested == nil) && (b.Name != "" || b.Macro != "") && last.Cond.Equal(b.Cond) {
			return true
		}
	}
	return false
}

// RestoreRemoved returns the post-image of fc with every removed member
// put back (Restore), or nil when the patch removes none or one cannot be
// put back. Its layout is the upstream one with the removed members kept.
func (fc *File) RestoreRemoved() []byte {
	if fc.Post == nil {
		return nil
	}
	type ins struct {
		at   int
		text string
	}
	var all []ins
	var needs []*Change // the removed members, for the enums they name
	for _, ch := range fc.Changes {
		if ch.Kind != MemberRemoved {
			continue
		}
		at, text, _, why := fc.Restore(ch, fc.Post)
		if why != "" {
			return nil
		}
		all = append(all, ins{at, text})
		needs = append(needs, ch)
	}
	if len(all) == 0 {
		return nil
	}
	// an enum the patch removes whose constant a kept member names
	// (DECLARE_BITMAP(flags, DEV_FLAG_COUNT)) comes back before the struct
	// too: without it the header does not compile; no upstream code can
	// name it
	for _, ch := range fc.Changes {
		if ch.Kind != EnumRemoved || ch.PreEnum == nil {
			continue
		}
		consts := map[string]bool{}
		for _, v := range ch.PreEnum.Values {
			consts[v.Name] = true
		}
		for i, m := range needs {
			if m.PostStruct != nil && ast.NamesAny(ast.Tokenize([]byte(all[i].text)), consts) {
				text := fc.Pre.Text(ast.Span{Off: ch.PreEnum.Span.Off, End: ast.StatementEnd(fc.Pre, ch.PreEnum.Span.End)})
				all = append(all, ins{ast.LineStart(fc.Post.Src, m.PostStruct.Span.Off), text + "\n\n"})
				break
			}
		}
	}
	var b strings.Builder
	last := 0
	// insertions at one offset keep their order (the changes' order)
	for len(all) > 0 {
		k := 0
		for j := range all {
			if all[j].at < all[k].at {
				k = j
			}
		}
		b.Write(fc.Post.Src[last:all[k].at])
		b.WriteString(all[k].text)
		last = all[k].at
		all = append(all[:k], all[k+1:]...)
	}
	b.Write(fc.Post.Src[last:])
	return []byte(b.String())
}

// SameStruct returns the definition in cur that is s of post: the same
// kind and tag, the same occurrence among top-level definitions.
func SameStruct(post *ast.File, s *ast.Struct, cur *ast.File) *ast.Struct {
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
	list := nestedList(s, chain)
	if list == nil {
		return nil
	}
	for _, x := range list.Members {
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
	from, to := ast.LineStart(f.Src, m.Decl.Off), ast.LineEnd(f.Src, m.Decl.End)
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
	return string(indent) + memberText(m) + ";\n", ""
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
	from, to := ast.LineStart(pre.Src, m.Decl.Off), ast.LineEnd(pre.Src, m.Decl.End)
	if string(pre.Src[from:to]) != text {
		return "", false
	}
	for range n {
		if from == 0 {
			return "", false
		}
		prev := ast.LineStart(pre.Src, from-1)
		w := strings.Fields(strings.TrimPrefix(strings.TrimSpace(string(pre.Src[prev:from])), "#"))
		if !strings.HasPrefix(strings.TrimSpace(string(pre.Src[prev:from])), "#") || len(w) == 0 || (w[0] != "if" && w[0] != "ifdef" && w[0] != "ifndef") {
			return "", false
		}
		from = prev
		next := ast.LineEnd(pre.Src, to)
		l := strings.TrimSpace(string(pre.Src[to:next]))
		w = strings.Fields(strings.TrimPrefix(l, "#"))
		if !strings.HasPrefix(l, "#") || len(w) == 0 || w[0] != "endif" {
			return "", false
		}
		to = next
	}
	return string(pre.Src[from:to]), true
}
