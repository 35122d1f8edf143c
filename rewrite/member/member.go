// Package member is the part the struct-member transforms (bitfield, hole,
// shadow) share: given new members that must not enter the struct, find
// every use in the patched .c files with the compiler oracle, rewrite the
// uses into accessor calls, put the accessors into each file that needs
// them, and take the member out of the header. A member whose uses cannot
// all be rewritten is left alone and the reason is returned: never a half
// rewrite.
package member

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Member is a new struct member to keep out of the struct.
type Member struct {
	Entry  *rewrite.Entry
	Change *change.Change
	Header string // the file that defines the struct
	Key    string // "struct slave"
	Name   string // "should_notify_link"
	// Getter and Setter name the accessors; Code defines them (and
	// whatever they need), once per .c file that uses the member.
	Getter, Setter string
	Code           string
	// Includes are headers the code needs ("linux/livepatch.h").
	Includes []string
	// Ptr, when set, names an accessor that returns a pointer to the
	// member: every use "obj->m" becomes "(*Ptr(obj))", whatever the use
	// (reads, writes, &, sizeof), and Getter/Setter are not used.
	Ptr string
	// PtrArgs and SetArgs return extra arguments for the accessor call at
	// an access (", GFP_KERNEL"), or "".
	PtrArgs func(file string, a *cexpr.Access) string
	SetArgs func(file string, a *cexpr.Access) string

	// Filled in by Apply.
	Files []string // .c files whose uses were rewritten
	Uses  int
}

// Candidates returns the unresolved struct-layout hazards that add a member
// and satisfy keep.
func Candidates(p *rewrite.Pass, keep func(*change.Change) bool) []*Member {
	var out []*Member
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MemberAdded || ch.PostMember == nil || strings.Contains(ch.Member, ".") {
			continue
		}
		if !keep(ch) {
			continue
		}
		out = append(out, &Member{Entry: e, Change: ch, Header: e.File, Key: ch.PostStruct.Kind + " " + ch.Struct, Name: ch.Member})
	}
	return out
}

// Apply rewrites the uses of ms. It returns the members it applied and, for
// the others, why not.
func Apply(p *rewrite.Pass, ms []*Member) ([]*Member, map[*Member]string) {
	refused := map[*Member]string{}
	if len(ms) == 0 {
		return nil, refused
	}
	o, err := p.Oracle()
	if err != nil {
		for _, m := range ms {
			refused[m] = "cannot find its uses without the compiler: " + err.Error()
		}
		return nil, refused
	}
	// The current post-image with the members taken out of their headers.
	files := p.CurrentFiles()
	reverted := map[string][]byte{}
	for _, m := range ms {
		cur := files[m.Header]
		if r, ok := reverted[m.Header]; ok {
			cur = r
		}
		reverted[m.Header] = revertMember(p, m, cur)
	}
	for h, r := range reverted {
		files[h] = r
		for _, m := range ms {
			if m.Header == h && declares(r, m) {
				refused[m] = "kprewrite could not take the member out of " + h + " on its own (other changes share its lines)"
			}
		}
	}
	res, err := o.MemberUses(p.Context(), files, p.CurrentSources())
	if err != nil {
		for _, m := range ms {
			refused[m] = "the compiler oracle failed: " + err.Error()
		}
		return nil, refused
	}
	// Uses of each member, as accesses in the current text.
	type fileUse struct {
		file string
		acc  *cexpr.Access
	}
	uses := map[*Member][]fileUse{}
	for _, m := range ms {
		if refused[m] != "" {
			continue
		}
		for _, u := range res.Of(m.Key, m.Name) {
			if change.IsHeader(u.File) {
				where := u.File + ":" + fmt.Sprint(u.Line)
				if fn := p.Parse(u.File).FuncAt(p.Parse(u.File).Lines.Start(u.Line)); fn != nil {
					where += " in " + fn.Name
				}
				refused[m] = "used in a header (" + where + "): header2c must move that code into the .c files first"
				break
			}
			f := p.Parse(u.File)
			off := f.Lines.Start(u.Line) + u.Col - 1
			a, err := cexpr.Find(f, off)
			if err != nil {
				refused[m] = err.Error()
				break
			}
			uses[m] = append(uses[m], fileUse{u.File, a})
		}
		if refused[m] == "" && len(uses[m]) == 0 {
			refused[m] = "the compiler found no use of it in the patched .c files"
		}
	}
	// Each member's accesses must all be rewritable on their own.
	for _, m := range ms {
		if refused[m] != "" {
			continue
		}
		byFile := map[string][]*cexpr.Access{}
		for _, u := range uses[m] {
			byFile[u.file] = append(byFile[u.file], u.acc)
		}
		for f, accs := range byFile {
			if m.Ptr != "" {
				continue // a pointer accessor takes every kind of use
			}
			rw := rewriter(p, f, map[int]*Member{})
			if _, errs := rw.Rewrite(accs); errs != nil {
				var why []string
				for _, e := range errs {
					why = append(why, f+": "+e.Error())
				}
				refused[m] = strings.Join(why, "; ")
			}
		}
	}
	var applied []*Member
	for _, m := range ms {
		if refused[m] == "" {
			applied = append(applied, m)
		}
	}
	// Rewrite every file once, with the accesses of all applied members.
	byFile := map[string][]*cexpr.Access{}
	owner := map[string]map[int]*Member{}
	for _, m := range applied {
		seen := map[string]bool{}
		for _, u := range uses[m] {
			byFile[u.file] = append(byFile[u.file], u.acc)
			if owner[u.file] == nil {
				owner[u.file] = map[int]*Member{}
			}
			owner[u.file][u.acc.Member.Off] = m
			m.Uses++
			if !seen[u.file] {
				seen[u.file] = true
				m.Files = append(m.Files, u.file)
			}
		}
		sort.Strings(m.Files)
	}
	var fileNames []string
	for f := range byFile {
		fileNames = append(fileNames, f)
	}
	sort.Strings(fileNames)
	for _, f := range fileNames {
		var getset []*cexpr.Access
		for _, a := range byFile[f] {
			m := owner[f][a.Member.Off]
			if m.Ptr == "" {
				getset = append(getset, a)
				continue
			}
			extra := ""
			if m.PtrArgs != nil {
				extra = m.PtrArgs(f, a)
			}
			src := p.File(f)
			obj := string(src[a.Object.Off:a.Object.End])
			call := m.Ptr + "(" + cexpr.AddressOf(obj, a.Arrow) + extra + ")"
			// "&obj->m" is the pointer itself
			amp := a.Object.Off - 1
			for amp >= 0 && (src[amp] == ' ' || src[amp] == '\t') {
				amp--
			}
			after := a.Member.End
			if amp >= 0 && src[amp] == '&' && (amp == 0 || src[amp-1] != '&') && (after >= len(src) || (src[after] != '.' && src[after] != '[' && !(src[after] == '-' && after+1 < len(src) && src[after+1] == '>'))) {
				p.Edit(f, amp, a.Member.End, call, "pointer accessor")
				continue
			}
			p.Edit(f, a.Object.Off, a.Member.End, "(*"+call+")", "pointer accessor")
		}
		rw := rewriter(p, f, owner[f])
		edits, errs := rw.Rewrite(getset)
		if errs != nil {
			continue // checked above
		}
		for _, e := range edits {
			p.Edit(f, e.Span.Off, e.Span.End, e.Text, "accessor call")
		}
		// the accessors, once per file, in member order
		pf := p.Parse(f)
		var codes []string
		added := map[string]bool{}
		for _, m := range applied {
			if !contains(m.Files, f) {
				continue
			}
			for _, inc := range m.Includes {
				if !added[inc] && !includes(pf, inc) {
					added[inc] = true
					p.Edit(f, includeAt(pf), includeAt(pf), "\n#include <"+inc+">", "include for accessors")
				}
			}
			codes = append(codes, m.Code)
		}
		at := gen.InsertionPoint(pf)
		p.Edit(f, at, at, gen.Styled(f, gen.InsertText(pf.Src, at, gen.Join(codes))), "accessors")
	}
	for h, r := range reverted {
		keep := false
		for _, m := range applied {
			if m.Header == h {
				keep = true
			}
		}
		if keep {
			// revert only the applied members
			cur := p.File(h)
			for _, m := range applied {
				if m.Header == h {
					cur = revertMember(p, m, cur)
				}
			}
			_ = r
			p.Edit(h, 0, len(p.File(h)), string(cur), "member taken out of the header")
		}
	}
	return applied, refused
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func includes(f *ast.File, inc string) bool {
	for _, i := range f.Includes {
		if i.Path == inc {
			return true
		}
	}
	return false
}

// includeAt returns where a new #include goes: at the end of the last
// #include line (the text inserted starts with a newline), so it lands
// before code generated after the includes.
func includeAt(f *ast.File) int {
	at := 0
	for _, inc := range f.Includes {
		if f.FuncAt(inc.Span.Off) == nil && inc.System {
			at = inc.Span.End
		}
	}
	return at
}

// rewriter makes a cexpr.Rewriter that calls each access's member accessors.
func rewriter(p *rewrite.Pass, file string, owner map[int]*Member) *cexpr.Rewriter {
	get := func(a *cexpr.Access) *Member { return owner[a.Member.Off] }
	return &cexpr.Rewriter{
		Src: p.File(file),
		Get: func(a *cexpr.Access, obj string) string {
			name := "get"
			if m := get(a); m != nil {
				name = m.Getter
			}
			return name + "(" + cexpr.AddressOf(obj, a.Arrow) + ")"
		},
		Set: func(a *cexpr.Access, obj, val string) string {
			name, extra := "set", ""
			if m := get(a); m != nil {
				name = m.Setter
				if m.SetArgs != nil {
					extra = m.SetArgs(file, a)
				}
			}
			return name + "(" + cexpr.AddressOf(obj, a.Arrow) + ", " + strings.TrimSpace(val) + extra + ")"
		},
	}
}

// RevertMember returns cur (a post-image of m.Header) with the lines that
// declare m put back as they were before the patch.
func RevertMember(p *rewrite.Pass, m *Member, cur []byte) []byte { return revertMember(p, m, cur) }

func revertMember(p *rewrite.Pass, m *Member, cur []byte) []byte {
	f := ast.Parse(m.Header, cur)
	s := f.Struct(strings.TrimPrefix(strings.TrimPrefix(m.Key, "struct "), "union "))
	if s == nil {
		return cur
	}
	for _, mm := range allMembers(s.Members) {
		if mm.Name == m.Name {
			lines := gen.LinesOf(f, mm.NameAt)
			return gen.RevertLines(p.Original(m.Header), cur, lines)
		}
	}
	return cur
}

// declares reports whether text still declares the member in its struct.
func declares(text []byte, m *Member) bool {
	f := ast.Parse(m.Header, text)
	s := f.Struct(strings.TrimPrefix(strings.TrimPrefix(m.Key, "struct "), "union "))
	if s == nil {
		return false
	}
	for _, mm := range allMembers(s.Members) {
		if mm.Name == m.Name {
			return true
		}
	}
	return false
}

func allMembers(ms []*ast.Member) []*ast.Member {
	var out []*ast.Member
	for _, m := range ms {
		out = append(out, m)
		if m.Nested != nil && m.Name == "" {
			out = append(out, allMembers(m.Nested.Members)...)
		}
	}
	return out
}

// TagOf returns the tag of "struct slave".
func TagOf(key string) string {
	_, tag, _ := strings.Cut(key, " ")
	return tag
}

// UniqueName returns name, or name with a suffix when an identifier of that
// name already appears in one of the files.
func UniqueName(p *rewrite.Pass, name string) string {
	for _, f := range p.Touched() {
		if path.Ext(f) != ".c" && path.Ext(f) != ".h" {
			continue
		}
		for _, t := range p.Parse(f).Tokens {
			if t.Kind == ast.Ident && t.Text == name {
				return name + "_lp"
			}
		}
	}
	return name
}
