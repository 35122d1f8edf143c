// Package member is the part the struct-member transforms (bitfield, hole,
// shadow; structext takes its candidates and header reverts) share: given
// new members that must not enter the struct, find every use in the
// patched .c files with the compiler oracle, rewrite the uses into accessor
// calls, put the accessors into each file that needs them, and take the
// member out of the header. A member whose uses cannot
// all be rewritten is left alone and the reason is returned: never a half
// rewrite.
package member

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/oracle"
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
	// PtrUses, when set on a member with a getter and a setter as well as
	// Ptr, picks the uses that go through Ptr (a scalar whose address a
	// call takes); the others go through the getter and the setter.
	PtrUses func(a *cexpr.Access) bool
	// ValueReads says the member is a struct or union held by value: a
	// use that only reads a part of it ("obj->m.x" in an expression) is a
	// read of the whole member ("get(obj).x"), not a use of its storage.
	ValueReads bool
	// SizeType, when set, is the member's type: "sizeof(obj->m)" whose
	// parentheses hold only the access becomes "sizeof(SizeType)".
	SizeType string
	// PtrArgs and SetArgs return extra arguments for the accessor call at
	// an access (", GFP_KERNEL"), or "".
	PtrArgs func(file string, a *cexpr.Access) string
	SetArgs func(file string, a *cexpr.Access) string
	// Check, when set, is asked about every use before anything is
	// rewritten: a non-empty answer refuses the member with that reason
	// (and sets CheckRefused).
	Check func(file string, a *cexpr.Access) string
	// Confirm, when set, is asked once every use has passed Check (which
	// may gather facts across the uses): a non-empty answer refuses the
	// member as Check's would.
	Confirm func() string
	// Replace, when set, may claim a use whose whole statement becomes
	// another (a lock's spin_lock_init when the lock lives in a static
	// table, initialised statically): it returns the byte range of the
	// statement in the file's current text and the text that replaces it.
	Replace func(file string, src []byte, a *cexpr.Access) (off, end int, text string, ok bool)
	// Macro, when set, takes a use the compiler finds inside the body of
	// a header's macro (kfree_rcu(p, member) reaches the member in
	// rcupdate.h): it returns the edits that rewrite the macro's
	// invocation, or why it cannot. Without it such a use refuses the
	// member.
	Macro func(u oracle.Use) ([]edit.Edit, string)
	// CodeFor, when set, gives the code of one file instead of Code (a
	// definition in one file, declarations in the others).
	CodeFor func(file string) string

	// Filled in by Apply.
	Files []string // .c files whose uses were rewritten
	Uses  int
	// CheckRefused says that Apply refused the member because Check
	// refused one of its uses (not for a reason of its own), so the
	// strategy can word that refusal its own way.
	CheckRefused bool
}

// Candidates returns the unresolved struct-layout hazards that add a member
// the running member strategy takes (its MemberStrategy.Takes).
func Candidates(p *rewrite.Pass) []*Member {
	keep := func(*change.Change) bool { return true }
	if s := p.Transform.Member; s != nil && s.Takes != nil {
		keep = s.Takes
	}
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
			if m.Header == h && Declares(r, m) {
				refused[m] = "kprewrite could not take the member out of " + h + " on its own (other changes share its lines)"
			} else if dup := duplicate(r, m); m.Header == h && dup != "" {
				// "admin:1" renamed "admin_1:1": taking admin_1 out restores
				// the line with admin, which keep put back already
				refused[m] = fmt.Sprintf("taking the member out of %s restores its line as it was, which declares %s, and %s is already declared there (another transform kept it): the struct would have it twice", h, dup, dup)
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
	expanded := map[*Member][]edit.Edit{} // the Macro hook's edits
	for _, m := range ms {
		if refused[m] != "" {
			continue
		}
		// viaMacro gives a use to the Macro hook: false when it refuses
		viaMacro := func(u oracle.Use) bool {
			es, why := m.Macro(u)
			if why != "" {
				refused[m] = why
				return false
			}
			expanded[m] = append(expanded[m], es...)
			return true
		}
		for _, u := range res.Of(m.Key, m.Name) {
			if change.IsHeader(u.File) && m.Macro != nil {
				if !viaMacro(u) {
					break
				}
				continue
			}
			if change.IsHeader(u.File) {
				hf := p.Parse(u.File)
				at := hf.Lines.Start(u.Line)
				where := u.File + ":" + fmt.Sprint(u.Line)
				if fn := hf.FuncAt(at); fn != nil {
					where += " in " + fn.Name
				}
				refused[m] = "used in a header (" + where + "): header2c must move that code into the .c files first"
				for _, mac := range hf.Macros {
					if mac.Span.Contains(at) && (mac.Name == "offsetof" || strings.Contains(mac.Body, "offsetof")) {
						// container_of(ptr, type, member) and friends
						refused[m] = fmt.Sprintf("its offset is taken (%s, %s:%d): code gets back to the object from the member's address (container_of), so the member must live inside the object", mac.Name, u.File, u.Line)
					}
				}
				break
			}
			f := p.Parse(u.File)
			off := f.Lines.Start(u.Line) + u.Col - 1
			a, err := cexpr.Find(f, off)
			if err != nil {
				// "container_of(w, struct s, m.work)": the member names a
				// path, as a macro's argument, with no object before it
				if x := designatorMacro(f, off); x != nil && m.Macro != nil {
					u.Expansion = x
					if !viaMacro(u) {
						break
					}
					continue
				}
				refused[m] = err.Error()
				break
			}
			if (a.Chained == "->" || a.Chained == ".") && chainedName(f, a.Member.End) == m.Name {
				// obj->m->m: gcc reports the inner access only (the outer
				// one fails with it), so the outer would stay unrewritten
				refused[m] = fmt.Sprintf("%s:%d: the member is reached through itself (...%s%s%s): the compiler shows such chains one level at a time", u.File, a.Line, m.Name, a.Chained, m.Name)
				break
			}
			if a.Kind == cexpr.AddrOf && a.Chained == "->" && m.Change.PostMember != nil && strings.HasSuffix(strings.TrimSpace(m.Change.PostMember.Type), "*") && len(m.Change.PostMember.Array) == 0 {
				a.Kind = cexpr.Read // "obj->m->x" reads the pointer m
			}
			if m.ValueReads && a.Kind == cexpr.AddrOf && a.Chained == "." && partRead(f, a, func(path []string) bool {
				return scalarPart(p, m.Header, m.Change.PostMember.Type, path, 0)
			}) {
				a.Kind, a.Chained = cexpr.Read, "" // "obj->m.x" reads a copy's x
			}
			uses[m] = append(uses[m], fileUse{u.File, a})
		}
		if refused[m] == "" && len(uses[m]) == 0 && len(expanded[m]) == 0 {
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
		if m.Check != nil {
			for _, u := range uses[m] {
				if why := m.Check(u.file, u.acc); why != "" {
					refused[m] = why
					m.CheckRefused = true
					break
				}
			}
		}
		for _, u := range uses[m] {
			if refused[m] != "" || m.viaPtr(u.acc) {
				break
			}
			if mac := addressMacro(p.Parse(u.file), u.acc); mac != "" {
				refused[m] = fmt.Sprintf("%s:%d: %s() takes the member's address (a lockless access of its storage): a getter or setter call is no lvalue; keep the member in the object's storage (a hole, spare bits) or rewrite the access by hand", u.file, u.acc.Line, mac)
			}
		}
		if refused[m] == "" && m.Confirm != nil {
			if why := m.Confirm(); why != "" {
				refused[m] = why
				m.CheckRefused = true
			}
		}
		if refused[m] != "" {
			continue
		}
		for f, accs := range byFile {
			if m.PtrUses != nil {
				accs = slices.DeleteFunc(slices.Clone(accs), m.PtrUses)
			} else if m.Ptr != "" {
				// a pointer accessor takes every kind of use but an entry
				// of a compound literal
				for _, a := range accs {
					if a.Kind == cexpr.Designator {
						refused[m] = fmt.Sprintf("%s:%d: the member is set in a compound literal, which a pointer accessor cannot take", f, a.Line)
					}
				}
				continue
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
	for _, m := range applied {
		for _, e := range expanded[m] {
			e.Hazard = m.Entry.Hazard
			p.Edit(e)
			m.Uses++
			if !slices.Contains(m.Files, e.File) {
				m.Files = append(m.Files, e.File)
			}
		}
		sort.Strings(m.Files)
	}
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		pointerEdits(p, f, byFile[f], owner[f])
		accessorEdits(p, f, byFile[f], owner[f])
		accessorCode(p, f, applied)
	}
	// take the applied members out of their headers, line by line
	for _, h := range slices.Sorted(maps.Keys(reverted)) {
		var in []*Member
		for _, m := range applied {
			if m.Header == h {
				in = append(in, m)
			}
		}
		if len(in) == 0 {
			continue
		}
		cur := p.File(h)
		out := cur
		for _, m := range in {
			out = revertMember(p, m, out)
		}
		for _, e := range edit.Diff(h, cur, out) {
			e.Why = "member taken out of the header"
			e.Hazard = revertedBy(p, in, cur, e)
			p.Edit(e)
		}
	}
	return applied, refused
}

// pointerEdits rewrites the accesses of f to members with a pointer
// accessor: "obj->m" becomes "(*m_ptr(obj))", "&obj->m" "m_ptr(obj)".
func pointerEdits(p *rewrite.Pass, f string, accs []*cexpr.Access, owner map[int]*Member) {
	src := p.File(f)
	for _, a := range accs {
		m := owner[a.Member.Off]
		if !m.viaPtr(a) {
			continue
		}
		if m.Replace != nil {
			if off, end, text, ok := m.Replace(f, src, a); ok {
				p.Edit(edit.Edit{File: f, Off: off, End: end, Text: text, Why: "statement replaced", Hazard: m.Entry.Hazard})
				continue
			}
		}
		if a.Kind == cexpr.SizeOf && m.SizeType != "" && soleOperand(src, a) {
			p.Edit(edit.Edit{File: f, Off: a.Object.Off, End: a.Member.End, Text: m.SizeType, Why: "the member's type", Hazard: m.Entry.Hazard})
			continue
		}
		extra := ""
		if m.PtrArgs != nil {
			extra = m.PtrArgs(f, a)
		}
		obj := string(src[a.Object.Off:a.Object.End])
		call := m.Ptr + "(" + cexpr.AddressOf(obj, a.Arrow) + extra + ")"
		// "&obj->m" is the pointer itself
		amp := a.Object.Off - 1
		for amp >= 0 && (src[amp] == ' ' || src[amp] == '\t') {
			amp--
		}
		after := a.Member.End
		if amp >= 0 && src[amp] == '&' && (amp == 0 || src[amp-1] != '&') && (after >= len(src) || (src[after] != '.' && src[after] != '[' && !(src[after] == '-' && after+1 < len(src) && src[after+1] == '>'))) {
			p.Edit(edit.Edit{File: f, Off: amp, End: a.Member.End, Text: call, Why: "pointer accessor", Hazard: m.Entry.Hazard})
			continue
		}
		p.Edit(edit.Edit{File: f, Off: a.Object.Off, End: a.Member.End, Text: "(*" + call + ")", Why: "pointer accessor", Hazard: m.Entry.Hazard})
	}
}

// addressMacros take the address of their first argument: a getter's or
// setter's call cannot stand there.
var addressMacros = map[string]bool{"READ_ONCE": true, "WRITE_ONCE": true, "smp_load_acquire": true, "smp_store_release": true,
	"xchg": true, "cmpxchg": true, "try_cmpxchg": true, "cmpxchg64": true, "xchg_relaxed": true, "cmpxchg_relaxed": true}

// addressMacro returns the macro whose first argument is the access
// (WRITE_ONCE(obj->m, v)), or "".
func addressMacro(f *ast.File, a *cexpr.Access) string {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	i := 0
	for i < len(toks) && toks[i].End <= a.Object.Off {
		i++
	}
	// the access is the whole first argument: "MACRO" "(" access ","
	if i < 2 || toks[i-1].Text != "(" || !addressMacros[toks[i-2].Text] {
		return ""
	}
	j := i
	for j < len(toks) && toks[j].Off < a.Member.End {
		j++
	}
	if j < len(toks) && (toks[j].Text == "," || toks[j].Text == ")") {
		return toks[i-2].Text
	}
	return ""
}

// soleOperand reports whether the access fills the parentheses around it
// ("sizeof(obj->m)"), blanks aside.
func soleOperand(src []byte, a *cexpr.Access) bool {
	before := bytes.TrimRight(src[:a.Object.Off], " \t\n")
	after := bytes.TrimLeft(src[a.Member.End:], " \t\n")
	return bytes.HasSuffix(before, []byte("(")) && bytes.HasPrefix(after, []byte(")"))
}

// viaPtr reports whether the access goes through the pointer accessor.
func (m *Member) viaPtr(a *cexpr.Access) bool {
	if m.PtrUses != nil {
		return m.PtrUses(a)
	}
	return m.Ptr != ""
}

// accessorEdits rewrites the accesses of f to members with a getter and a
// setter into calls.
func accessorEdits(p *rewrite.Pass, f string, accs []*cexpr.Access, owner map[int]*Member) {
	var getset []*cexpr.Access
	for _, a := range accs {
		if !owner[a.Member.Off].viaPtr(a) {
			getset = append(getset, a)
		}
	}
	edits, errs := rewriter(p, f, owner).Rewrite(getset)
	if errs != nil {
		return // Apply checked every member's accesses before
	}
	for _, e := range edits {
		e.File, e.Why = f, "accessor call"
		if m := owner[memberAt(getset, e)]; m != nil {
			e.Hazard = m.Entry.Hazard
		}
		p.Edit(e)
	}
}

// accessorCode adds the accessors of the applied members f uses, once, in
// member order, with the includes they need.
func accessorCode(p *rewrite.Pass, f string, applied []*Member) {
	pf := p.Parse(f)
	var codes []string
	added := map[string]bool{}
	var users []*Member
	for _, m := range applied {
		if !slices.Contains(m.Files, f) {
			continue
		}
		users = append(users, m)
		for _, inc := range m.Includes {
			if e, ok := gen.Include(pf, "#include <"+inc+">"); ok && !added[inc] {
				added[inc] = true
				e.Why = "include for accessors"
				p.Edit(e)
			}
		}
		codes = append(codes, m.CodeIn(f))
	}
	code := gen.Join(codes)
	at := gen.AfterDefinitions(pf, gen.InsertionPoint(pf), code)
	p.Edit(edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, code)), Why: "accessors", Hazard: only(users)})
}

// CodeIn returns the code m puts into file f.
func (m *Member) CodeIn(f string) string {
	if m.CodeFor != nil {
		return m.CodeFor(f)
	}
	return m.Code
}

// memberAt returns the member offset of the access an accessor-call edit
// replaces (the edit spans the access's full text).
func memberAt(accs []*cexpr.Access, e edit.Edit) int {
	for _, a := range accs {
		if a.Full.Off >= e.Off && a.Member.End <= e.End {
			return a.Member.Off
		}
	}
	return -1
}

// only returns the hazard of the one member in ms, or nil when code serves
// several.
func only(ms []*Member) *hazard.Hazard {
	if len(ms) != 1 {
		return nil
	}
	return ms[0].Entry.Hazard
}

// revertedBy returns the hazard of the member whose own revert in cur
// touches the lines e changes, or nil.
func revertedBy(p *rewrite.Pass, ms []*Member, cur []byte, e edit.Edit) *hazard.Hazard {
	if len(ms) == 1 {
		return ms[0].Entry.Hazard
	}
	for _, m := range ms {
		for _, o := range edit.Diff(m.Header, cur, revertMember(p, m, cur)) {
			if o.Off <= e.End && e.Off <= o.End {
				return m.Entry.Hazard
			}
		}
	}
	return nil
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
	f, mm := declaration(cur, m)
	if mm == nil {
		return cur
	}
	return gen.RevertLines(p.Original(m.Header), cur, gen.LinesOf(f, mm.NameAt))
}

// Declares reports whether text, a version of m.Header, declares the
// member in its struct (at any depth of anonymous nesting).
func Declares(text []byte, m *Member) bool {
	_, mm := declaration(text, m)
	return mm != nil
}

// declaration finds m's declaration in text, a version of m.Header.
func declaration(text []byte, m *Member) (*ast.File, *ast.Member) {
	f := ast.Parse(m.Header, text)
	s := f.Struct(strings.TrimPrefix(strings.TrimPrefix(m.Key, "struct "), "union "))
	if s == nil {
		return f, nil
	}
	for _, mm := range allMembers(s.Members) {
		if mm.Name == m.Name {
			return f, mm
		}
	}
	return f, nil
}

// duplicate returns a member name that m's struct declares twice (under
// the same #if condition) in text, or "".
func duplicate(text []byte, m *Member) string {
	f := ast.Parse(m.Header, text)
	s := f.Struct(TagOf(m.Key))
	if s == nil {
		return ""
	}
	seen := map[string]bool{}
	for _, mm := range allMembers(s.Members) {
		if mm.Name == "" {
			continue
		}
		k := mm.Name + "\x00" + fmt.Sprint(mm.Cond)
		if seen[k] {
			return mm.Name
		}
		seen[k] = true
	}
	return ""
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

// NeedsInit reports whether a member type must be initialised before use
// (a lock, a list head, ...), so zeroed memory is not a valid value: the
// hole strategy cannot take it and the shadow strategy constructs it.
func NeedsInit(typ string) bool {
	c, ok := Ctor(typ)
	return ok && c != "" && !strings.HasPrefix(c, "atomic") && !strings.HasPrefix(c, "refcount")
}

// Ctor returns the statement that initialises a member of type typ through
// a pointer v ("spin_lock_init(v);"), "" for a known type that needs none,
// and false for a type not in the table.
func Ctor(typ string) (string, bool) {
	c, ok := ctors[strings.TrimSpace(typ)]
	return c, ok
}

// ctors initialise members whose type needs it.
var ctors = map[string]string{
	"spinlock_t":             "spin_lock_init(v);",
	"raw_spinlock_t":         "raw_spin_lock_init(v);",
	"rwlock_t":               "rwlock_init(v);",
	"struct mutex":           "mutex_init(v);",
	"struct list_head":       "INIT_LIST_HEAD(v);",
	"struct hlist_head":      "INIT_HLIST_HEAD(v);",
	"wait_queue_head_t":      "init_waitqueue_head(v);",
	"struct wait_queue_head": "init_waitqueue_head(v);",
	"struct completion":      "init_completion(v);",
	"seqlock_t":              "seqlock_init(v);",
	"atomic_t":               "atomic_set(v, 0);",
	"atomic64_t":             "atomic64_set(v, 0);",
	"atomic_long_t":          "atomic_long_set(v, 0);",
	"refcount_t":             "refcount_set(v, 0);",
	"struct rw_semaphore":    "init_rwsem(v);",
	"struct semaphore":       "sema_init(v, 0);",
	"struct llist_head":      "init_llist_head(v);",
	"struct delayed_work":    "",
	"struct work_struct":     "",
}

// ReadType is the type a read of a bitfield of type typ and width bits
// has in C: a field narrower than int whose type is int or wider promotes
// to int ("u32 credit:4" reads as an int, so "p->credit - level" can be
// negative), which a getter must return to keep upstream's arithmetic;
// other fields read as their type (a narrower type promotes to int in
// any expression anyway).
func ReadType(typ string, width int64) string {
	t := ast.TypeSpelling(typ)
	switch t {
	case "bool", "_Bool", "u8", "u16", "__u8", "__u16", "s8", "s16", "__s8", "__s16", "uint8_t", "uint16_t",
		"int8_t", "int16_t", "char", "short", "unsigned char", "unsigned short", "signed char", "short int",
		"unsigned short int", "signed short":
		return typ
	}
	if width > 0 && width < 32 {
		return "int"
	}
	return typ
}

// BitWidth reads a bitfield's width when it is a plain number ("3", "0"
// of an unnamed field ending a unit; C's prefixes as C reads them), the
// one form kprewrite computes with; false for an expression or a macro
// ("2 * 4", "FLAG_BITS"), whose value only the compiler knows.
func BitWidth(bits string) (int64, bool) {
	w, err := strconv.ParseInt(strings.TrimSpace(bits), 0, 64)
	return w, err == nil && w >= 0
}

// FullIntType spells a member's type as kernel style wants it in the
// generated code: "unsigned int" for a bare "unsigned" (checkpatch's
// UNSPECIFIED_INT), "int" for a bare "signed".
func FullIntType(typ string) string {
	switch t := strings.TrimSpace(typ); ast.TypeSpelling(t) {
	case "unsigned":
		return strings.Replace(t, "unsigned", "unsigned int", 1)
	case "signed":
		return strings.Replace(t, "signed", "int", 1)
	default:
		return t
	}
}

// chainedName returns the member name after the "->" or "." that follows
// offset end in f, or "".
func chainedName(f *ast.File, end int) string {
	toks := f.CodeTokens(ast.Span{Off: end, End: len(f.Src)})
	if len(toks) >= 2 && (toks[0].Text == "->" || toks[0].Text == ".") && toks[1].Kind == ast.Ident {
		return toks[1].Text
	}
	return ""
}

// partRead reports whether an access "obj->m.x.y" only reads the part:
// no increment before it, and after the chain of ".name" no assignment,
// increment, index or address use (a struct returned by value is no
// lvalue).
//
// The part must be no array (scalar says so for the path of sub-member
// names): an array read out of a copy decays to a pointer into a
// temporary, and writes through it are lost.
func partRead(f *ast.File, a *cexpr.Access, scalar func(path []string) bool) bool {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	i := sort.Search(len(toks), func(i int) bool { return toks[i].Off >= a.Full.Off })
	if i > 0 && (toks[i-1].Text == "++" || toks[i-1].Text == "--" || toks[i-1].Text == "&") {
		return false
	}
	k := sort.Search(len(toks), func(i int) bool { return toks[i].Off >= a.Full.End })
	var path []string
	for k+1 < len(toks) && toks[k].Text == "." && toks[k+1].Kind == ast.Ident {
		path = append(path, toks[k+1].Text)
		k += 2
	}
	if len(path) == 0 || !scalar(path) {
		return false
	}
	if k >= len(toks) {
		return false
	}
	switch n := toks[k].Text; {
	case n == "[" || n == "." || n == "++" || n == "--":
		return false
	case n == "=" || len(n) >= 2 && strings.HasSuffix(n, "=") && n != "==" && n != "!=" && n != "<=" && n != ">=":
		return false
	}
	return true
}

// scalarPart reports whether path names a member of the struct or union
// typ that is no array and no aggregate with one, as the header (or a
// header it includes, two levels down) defines typ.
func scalarPart(p *rewrite.Pass, header, typ string, path []string, depth int) bool {
	fs := strings.Fields(typ)
	if len(fs) != 2 || fs[0] != "struct" && fs[0] != "union" || len(path) == 0 || depth > 4 {
		return false
	}
	st := findStruct(p, header, fs[1])
	if st == nil {
		return false
	}
	var find func(ms []*ast.Member) *ast.Member
	find = func(ms []*ast.Member) *ast.Member {
		for _, x := range ms {
			if x.Name == path[0] {
				return x
			}
			if x.Name == "" && x.Nested != nil {
				if y := find(x.Nested.Members); y != nil {
					return y
				}
			}
		}
		return nil
	}
	x := find(st.Members)
	if x == nil || len(x.Array) > 0 || x.Macro != "" {
		return false
	}
	if len(path) > 1 {
		return x.Nested == nil && scalarPart(p, header, x.Type, path[1:], depth+1)
	}
	t := strings.Fields(x.Type)
	return x.Nested == nil && (len(t) == 0 || t[0] != "struct" && t[0] != "union" || strings.HasSuffix(x.Type, "*"))
}

// findStruct finds the definition of a struct or union tag in header or
// the headers it includes, two levels down.
func findStruct(p *rewrite.Pass, header, tag string) *ast.Struct {
	seen := map[string]bool{}
	level := []*ast.File{p.Parse(header)}
	for d := 0; d < 3 && len(level) > 0; d++ {
		var next []*ast.File
		for _, f := range level {
			if seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			if st := f.Struct(tag); st != nil {
				return st
			}
			next = append(next, p.IncludedHeaders(f.Name)...)
		}
		level = next
	}
	return nil
}

// designatorMacro returns the macro invocation of f whose argument the
// member name at off starts, as a member designator
// ("container_of(w, struct s, m.work)", "offsetof(struct s, m)"), or nil.
func designatorMacro(f *ast.File, off int) *oracle.Expansion {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	i := sort.Search(len(toks), func(i int) bool { return toks[i].Off >= off })
	if i <= 1 || i >= len(toks) || toks[i].Off != off || toks[i].Kind != ast.Ident || toks[i-1].Text != "," && toks[i-1].Text != "(" {
		return nil
	}
	depth := 0
	for k := i - 1; k > 0; k-- {
		switch toks[k].Text {
		case ")", "]":
			depth++
		case "[":
			if depth == 0 {
				return nil // a subscript holds the name, not a macro's argument list
			}
			depth--
		case "(":
			if depth > 0 {
				depth--
				continue
			}
			name := toks[k-1]
			if name.Kind != ast.Ident || f.Macro(name.Text) == nil && name.Text != "container_of" && name.Text != "offsetof" {
				return nil
			}
			return &oracle.Expansion{Macro: name.Text, File: f.Name, Line: f.Lines.Line(name.Off), Col: f.Lines.Col(name.Off)}
		case ";", "{", "}":
			return nil
		}
	}
	return nil
}
