// Package change maps a patch onto the C entities it changes: which
// functions, struct members, macros, declarations, globals and static locals
// differ between the pre-image and the post-image of each file.
//
// It compares the models of both images (package ast) entity by entity, so
// comment-only and whitespace-only edits are told apart from code changes,
// and every change is tied to the hunks that make it.
package change

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/patch"
)

// Kind names what kind of entity changed and how.
type Kind string

// Change kinds.
const (
	FuncChanged        Kind = "function changed"
	FuncAdded          Kind = "function added"
	FuncRemoved        Kind = "function removed"
	StructAdded        Kind = "struct added"
	StructRemoved      Kind = "struct removed"
	MemberAdded        Kind = "member added"
	MemberRemoved      Kind = "member removed"
	MemberRetyped      Kind = "member type changed"
	MemberBits         Kind = "bitfield width changed"
	MemberReordered    Kind = "members reordered"
	MemberCond         Kind = "member condition changed"
	StructOther        Kind = "struct changed otherwise" // a change the member model does not see (a member declared again, an attribute)
	MacroChanged       Kind = "macro changed"
	MacroAdded         Kind = "macro added"
	MacroRemoved       Kind = "macro removed"
	DeclChanged        Kind = "declaration changed"
	DeclAdded          Kind = "declaration added"
	DeclRemoved        Kind = "declaration removed"
	VarAdded           Kind = "global added"
	VarRemoved         Kind = "global removed"
	VarInitChanged     Kind = "initializer changed"
	VarTypeChanged     Kind = "global type changed"
	StaticLocalAdded   Kind = "static local added"
	StaticLocalRemoved Kind = "static local removed"
	StaticLocalChanged Kind = "static local changed" // its type, size, initializer or attributes
	IncludeAdded       Kind = "include added"
	IncludeRemoved     Kind = "include removed"
	CallAdded          Kind = "file-scope macro call added"
	CallRemoved        Kind = "file-scope macro call removed"
	EnumChanged        Kind = "enum changed"
	EnumAdded          Kind = "enum added"
	EnumRemoved        Kind = "enum removed"
	CommentOnly        Kind = "comment or whitespace only" // or code respelled (CanonCode)
	Unclassified       Kind = "unclassified change"
)

// Change is one changed entity.
type Change struct {
	Kind    Kind
	File    string
	Line    int    // line in the post-image (the pre-image for removals)
	Subject string // "bond_miimon_inspect", "struct slave.should_notify_link", "BOND_MODE", ...
	Struct  string // struct tag for struct and member changes
	Member  string
	Func    string // enclosing or changed function
	Name    string // macro, global, declaration, enum or call name
	Old     string // normalised text before, when it helps the report
	New     string // normalised text after
	Hunks   []int  // 1-based hunk numbers of the file diff (as rendered) that make the change

	PreFunc, PostFunc     *ast.Func
	PreStruct, PostStruct *ast.Struct
	PreMember, PostMember *ast.Member // the member before and after (MemberRemoved: PreMember only)
	PreVar, PostVar       *ast.Var    // a static local or global before and after (StaticLocalChanged: both)
	PostMacro             *ast.Macro
	PreEnum, PostEnum     *ast.Enum // an enum before and after (EnumAdded: PostEnum only)
}

// File is the changes of one file.
type File struct {
	Path     string
	IsHeader bool
	Pre      *ast.File // nil for a new file
	Post     *ast.File // nil for a deleted file
	Diff     *patch.File
	Changes  []*Change
}

// IsHeader reports whether a path names a C header.
func IsHeader(p string) bool { return path.Ext(p) == ".h" }

// Compute compares the pre- and post-image of one file. Either may be nil.
func Compute(p string, old, new []byte) *File {
	fc := &File{Path: p, IsHeader: IsHeader(p)}
	if old != nil {
		fc.Pre = ast.Parse(p, old)
	}
	if new != nil {
		fc.Post = ast.Parse(p, new)
	}
	fc.Diff = patch.Diff(p, old, new)
	if fc.Diff == nil {
		return fc
	}
	pre, post := fc.Pre, fc.Post
	if pre == nil {
		pre = ast.Parse(p, nil)
	}
	if post == nil {
		post = ast.Parse(p, nil)
	}
	c := &cmp{fc: fc, pre: pre, post: post}
	c.structs()
	c.funcs()
	c.macros()
	c.vars()
	c.decls()
	c.includes()
	c.calls()
	c.enums()
	c.assignHunks()
	sort.SliceStable(fc.Changes, func(i, j int) bool { return fc.Changes[i].Line < fc.Changes[j].Line })
	return fc
}

type cmp struct {
	fc        *File
	pre, post *ast.File
}

func (c *cmp) add(ch *Change) {
	ch.File = c.fc.Path
	c.fc.Changes = append(c.fc.Changes, ch)
}

func (c *cmp) structs() {
	// A struct may be defined more than once under different #if branches
	// (a full definition and an empty stub): definitions of one name are
	// paired in the order they appear.
	defs := func(f *ast.File) (map[string][]*ast.Struct, []string) {
		out := map[string][]*ast.Struct{}
		var order []string
		for _, s := range f.Structs {
			if s.Name == "" || s.Parent != nil {
				continue
			}
			key := s.Kind + " " + s.Name
			if out[key] == nil {
				order = append(order, key)
			}
			out[key] = append(out[key], s)
		}
		return out, order
	}
	pre, preOrder := defs(c.pre)
	post, postOrder := defs(c.post)
	for _, key := range postOrder {
		for i, s := range post[key] {
			if i >= len(pre[key]) {
				c.add(&Change{Kind: StructAdded, Line: c.post.Line(s.Span.Off), Subject: key, Struct: s.Name, PostStruct: s})
				continue
			}
			old := pre[key][i]
			if statementText(c.pre, old) == statementText(c.post, s) && old.Cond.String() == s.Cond.String() {
				// the same text under the same condition: no change, even
				// where #if branches declare a member twice (big- and
				// little-endian bitfields) and pairing by name could
				// pick different branches
				continue
			}
			c.members(old, s)
		}
	}
	for _, key := range preOrder {
		for i := len(post[key]); i < len(pre[key]); i++ {
			s := pre[key][i]
			c.add(&Change{Kind: StructRemoved, Line: c.pre.Line(s.Span.Off), Subject: key, Struct: s.Name, PreStruct: s})
		}
	}
}

// statementText is a struct definition up to the ';' that ends its
// statement, attributes after the closing brace included.
func statementText(f *ast.File, s *ast.Struct) string {
	end := s.Span.End
	if i := bytes.IndexByte(f.Src[end:], ';'); i >= 0 {
		end += i + 1
	}
	return string(f.Src[s.Span.Off:end])
}

// flatMember is a member with its path through anonymous nested aggregates.
type flatMember struct {
	name string // "a", or "u.b" for named nested, "#3:DECLARE_BITMAP(x, 3)" for unnamed ones
	m    *ast.Member
}

func flatten(ms []*ast.Member, prefix string) []flatMember {
	var out []flatMember
	for i, m := range ms {
		switch {
		case m.Nested != nil && m.Name == "":
			out = append(out, flatten(m.Nested.Members, prefix)...)
		case m.Nested != nil:
			out = append(out, flatMember{prefix + m.Name, m})
			out = append(out, flatten(m.Nested.Members, prefix+m.Name+".")...)
		case m.Name == "":
			key := m.Macro
			if key == "" {
				key = fmt.Sprintf("unnamed bitfield %d", i)
			}
			out = append(out, flatMember{prefix + "#" + key, m})
		default:
			out = append(out, flatMember{prefix + m.Name, m})
		}
	}
	return out
}

func (c *cmp) members(old, new *ast.Struct) {
	first := len(c.fc.Changes) // the changes of this struct start here
	subject := func(name string) string { return new.Kind + " " + new.Name + "." + name }
	po := flatten(old.Members, "")
	pn := flatten(new.Members, "")
	oldIdx := map[string]int{}
	for i, m := range po {
		oldIdx[m.name] = i
	}
	newIdx := map[string]int{}
	for i, m := range pn {
		newIdx[m.name] = i
	}
	var common []string
	for _, m := range pn {
		om, ok := oldIdx[m.name]
		if !ok {
			ch := &Change{Kind: MemberAdded, Line: c.post.Line(m.m.Decl.Off), Subject: subject(m.name), Struct: new.Name, Member: m.name,
				New: memberText(m.m), PostStruct: new, PreStruct: old, PostMember: m.m}
			c.add(ch)
			continue
		}
		common = append(common, m.name)
		o := po[om].m
		switch {
		case CanonType(o.Type) != CanonType(m.m.Type) || strings.Join(o.Array, "][") != strings.Join(m.m.Array, "]["):
			c.add(&Change{Kind: MemberRetyped, Line: c.post.Line(m.m.Decl.Off), Subject: subject(m.name), Struct: new.Name, Member: m.name,
				Old: memberText(o), New: memberText(m.m), PostStruct: new, PreStruct: old, PreMember: o, PostMember: m.m})
		case o.Bits != m.m.Bits:
			c.add(&Change{Kind: MemberBits, Line: c.post.Line(m.m.Decl.Off), Subject: subject(m.name), Struct: new.Name, Member: m.name,
				Old: memberText(o), New: memberText(m.m), PostStruct: new, PreStruct: old, PreMember: o, PostMember: m.m})
		case !o.Cond.Equal(m.m.Cond) && !sameInner(old.Cond, o.Cond, new.Cond, m.m.Cond):
			c.add(&Change{Kind: MemberCond, Line: c.post.Line(m.m.Decl.Off), Subject: subject(m.name), Struct: new.Name, Member: m.name,
				Old: o.Cond.String(), New: m.m.Cond.String(), PostStruct: new, PreStruct: old, PreMember: o, PostMember: m.m})
		}
	}
	for _, m := range po {
		if _, ok := newIdx[m.name]; !ok {
			c.add(&Change{Kind: MemberRemoved, Line: c.pre.Line(m.m.Decl.Off), Subject: subject(m.name), Struct: new.Name, Member: m.name,
				Old: memberText(m.m), PostStruct: new, PreStruct: old, PreMember: m.m})
		}
	}
	// Order of the members both versions have. A name may be declared more
	// than once (in the branches of an #if): its first declaration counts.
	var oldOrder []string
	seen := map[string]bool{}
	for _, m := range po {
		if _, ok := newIdx[m.name]; ok && !seen[m.name] {
			seen[m.name] = true
			oldOrder = append(oldOrder, m.name)
		}
	}
	common = firstOccurrences(common)
	for i := range common {
		if i >= len(oldOrder) || common[i] != oldOrder[i] {
			c.add(&Change{Kind: MemberReordered, Line: c.post.Line(new.Span.Off), Subject: new.Kind + " " + new.Name, Struct: new.Name,
				Old: strings.Join(oldOrder, ", "), New: strings.Join(common, ", "), PostStruct: new, PreStruct: old})
			return
		}
	}
	// What no member change names must stay as it was: the declarations
	// of the other members, in order, and the struct's text around them.
	named := map[string]bool{}
	for _, ch := range c.fc.Changes[first:] {
		named[ch.Member] = true
	}
	// A declaration of several members is touched as a whole, in both
	// versions ("u8 up:1, down:1;" gaining "flap:1" names up and down too).
	for range 2 {
		groupNames(old, named)
		groupNames(new, named)
	}
	oldDecls, oldFrame := untouched(c.pre, old, named)
	newDecls, newFrame := untouched(c.post, new, named)
	if oldFrame != newFrame || !slices.Equal(oldDecls, newDecls) {
		c.add(&Change{Kind: StructOther, Line: c.post.Line(new.Span.Off), Subject: new.Kind + " " + new.Name, Struct: new.Name,
			PostStruct: new, PreStruct: old})
	}
}

// memberNames returns the names the member model gives the i-th member of
// s and what is nested in it (flatten's names).
func memberNames(s *ast.Struct, i int) []string {
	m := s.Members[i]
	if m.Nested == nil && m.Name == "" && m.Macro == "" {
		return []string{fmt.Sprintf("#unnamed bitfield %d", i)}
	}
	var out []string
	for _, f := range flatten([]*ast.Member{m}, "") {
		out = append(out, f.name)
	}
	return out
}

// groupNames adds to named every member declared in one declaration with a
// named member.
func groupNames(s *ast.Struct, named map[string]bool) {
	hit := map[int]bool{}
	for i, m := range s.Members {
		for _, n := range memberNames(s, i) {
			hit[m.Group] = hit[m.Group] || named[n]
		}
	}
	for i, m := range s.Members {
		if hit[m.Group] {
			for _, n := range memberNames(s, i) {
				named[n] = true
			}
		}
	}
}

// untouched returns the normalised declarations of s's members that no
// name in named belongs to (a declaration of several members counts once,
// and is touched when one of them is), and the normalised text of s outside
// its member declarations (its attributes).
func untouched(f *ast.File, s *ast.Struct, named map[string]bool) (decls []string, frame string) {
	touched := map[int]bool{} // by declaration group
	for i, m := range s.Members {
		for _, n := range memberNames(s, i) {
			touched[m.Group] = touched[m.Group] || named[n]
		}
	}
	var outside []string
	at := s.Span.Off
	seen := map[int]bool{}
	for _, m := range s.Members {
		if seen[m.Group] {
			continue
		}
		seen[m.Group] = true
		if m.Decl.Off >= at {
			if t := f.Normalized(ast.Span{Off: at, End: m.Decl.Off}); t != "" {
				outside = append(outside, t)
			}
			at = m.Decl.End
		}
		if !touched[m.Group] {
			decls = append(decls, CanonType(f.Normalized(m.Decl))) // "unsigned" respelled "unsigned int" is no change
		}
	}
	outside = append(outside, f.Normalized(ast.Span{Off: at, End: s.Span.End}))
	// and what follows the closing brace up to the ';' ("} __aligned(64);")
	tail := f.CodeTokens(ast.Span{Off: s.Span.End, End: len(f.Src)})
	for i, t := range tail {
		if t.Is(";") || t.Is("{") || i == 32 {
			outside = append(outside, f.Normalized(ast.Span{Off: s.Span.End, End: t.End}))
			break
		}
	}
	return decls, strings.Join(outside, " | ")
}

// firstOccurrences returns names without their repeats, in order.
func firstOccurrences(names []string) []string {
	seen := map[string]bool{}
	out := names[:0:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// sameInner reports whether two member conditions differ only in the part
// that comes from the struct's own condition.
func sameInner(so, mo, sn, mn ast.Cond) bool {
	if len(mo) < len(so) || len(mn) < len(sn) {
		return false
	}
	return ast.Cond(mo[len(so):]).Equal(mn[len(sn):])
}

// CanonType returns type text (ast's normalised spelling) with every
// run of integer type keywords spelled one way: "unsigned" and
// "unsigned int", "long int" and "long", "signed short" and "short" are
// one type to the compiler ("signed char", "unsigned char" and "char" stay
// three). A member respelled so changes neither layout nor code.
func CanonType(s string) string {
	return intRunRE.ReplaceAllStringFunc(s, func(run string) string {
		count := map[string]int{}
		for _, w := range strings.Fields(run) {
			count[w]++
		}
		return canonInt(count)
	})
}

// CanonCode returns the code tokens (comments left out) joined by
// spaces, each run of integer type keyword tokens spelled as CanonType
// spells it. Strings, characters and directive lines stay as they are:
// "unsigned" in a string or a #define's body is text, not a type.
func CanonCode(toks []ast.Token) string {
	var b strings.Builder
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind == ast.Comment {
			continue
		}
		if isIntWord(t) {
			count := map[string]int{}
			for ; i < len(toks) && (toks[i].Kind == ast.Comment || isIntWord(toks[i])); i++ {
				if toks[i].Kind == ast.Ident {
					count[toks[i].Text]++
				}
			}
			i--
			b.WriteString(canonInt(count))
			b.WriteByte(' ')
			continue
		}
		b.WriteString(t.Text)
		b.WriteByte(' ')
	}
	return b.String()
}

func isIntWord(t ast.Token) bool {
	switch t.Text {
	case "signed", "unsigned", "char", "short", "int", "long":
		return t.Kind == ast.Ident
	}
	return false
}

// intRunRE matches a run of integer type keywords (separated by blanks).
var intRunRE = regexp.MustCompile(`\b(?:signed|unsigned|char|short|int|long)(?:\s+(?:signed|unsigned|char|short|int|long))*\b`)

func canonInt(n map[string]int) string {
	sign := ""
	if n["unsigned"] > 0 {
		sign = "unsigned "
	}
	switch {
	case n["char"] > 0:
		if n["signed"] > 0 {
			sign = "signed "
		}
		return sign + "char"
	case n["short"] > 0:
		return sign + "short"
	case n["long"] > 0:
		return sign + strings.TrimSpace(strings.Repeat("long ", n["long"]))
	}
	return sign + "int"
}

func memberText(m *ast.Member) string {
	if m.Macro != "" {
		return m.Macro
	}
	s := m.Type
	if m.Name != "" && declares(s, m.Name) {
		// a function pointer's type holds its name: "int (*reset)(struct cxl_decoder *cxld)"
		for _, a := range m.Array {
			s += "[" + a + "]"
		}
		if m.Bits != "" {
			s += ":" + m.Bits
		}
		return s
	}
	if !strings.HasSuffix(s, "*") {
		s += " "
	}
	s += m.Name
	for _, a := range m.Array {
		s += "[" + a + "]"
	}
	if m.Bits != "" {
		s += ":" + m.Bits
	}
	return s
}

// declares reports whether a member's type text already holds its name as
// an identifier (a function pointer or a pointer to an array).
func declares(typ, name string) bool {
	for i := strings.Index(typ, name); i >= 0; {
		end := i + len(name)
		if (i == 0 || !isIdentByte(typ[i-1])) && (end == len(typ) || !isIdentByte(typ[end])) {
			return true
		}
		j := strings.Index(typ[i+1:], name)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// MemberText renders a member declaration in normalised form ("u8 x:1").
func MemberText(m *ast.Member) string { return memberText(m) }

func funcKey(f *ast.Func, n int) string { return fmt.Sprintf("%s#%d", f.Name, n) }

func indexFuncs(fs []*ast.Func) map[string]*ast.Func {
	out := map[string]*ast.Func{}
	count := map[string]int{}
	for _, f := range fs {
		out[funcKey(f, count[f.Name])] = f
		count[f.Name]++
	}
	return out
}

func (c *cmp) funcs() {
	pre := indexFuncs(c.pre.Funcs)
	post := indexFuncs(c.post.Funcs)
	var keys []string
	for k := range post {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		nf := post[k]
		of, ok := pre[k]
		if !ok {
			c.add(&Change{Kind: FuncAdded, Line: c.post.Line(nf.Span.Off), Subject: nf.Name, Func: nf.Name, PostFunc: nf})
			for _, v := range nf.StaticLocals {
				n := StaticName(c.post, v)
				c.add(&Change{Kind: StaticLocalAdded, Line: c.post.Line(v.Span.Off), Subject: nf.Name + "::" + n, Func: nf.Name, Name: n, PostFunc: nf, PostVar: v})
			}
			continue
		}
		if c.pre.Normalized(of.Span) != c.post.Normalized(nf.Span) {
			c.add(&Change{Kind: FuncChanged, Line: c.post.Line(nf.Span.Off), Subject: nf.Name, Func: nf.Name, PreFunc: of, PostFunc: nf})
		}
		c.staticLocals(of, nf)
	}
	for k, of := range pre {
		if _, ok := post[k]; !ok {
			c.add(&Change{Kind: FuncRemoved, Line: c.pre.Line(of.Span.Off), Subject: of.Name, Func: of.Name, PreFunc: of})
		}
	}
}

// staticLocals compares the static locals of a function before and after.
// Those of one name pair up in order (a function may declare one name in
// several blocks); a pair whose declarations differ (type, array size,
// initializer, attributes) is changed: livepatch builders pair a static
// local with the running kernel's copy by name, so the new declaration
// never takes effect.
func (c *cmp) staticLocals(of, nf *ast.Func) {
	group := func(f *ast.File, fn *ast.Func) (map[string][]*ast.Var, []string) {
		out := map[string][]*ast.Var{}
		var names []string
		for _, v := range fn.StaticLocals {
			n := StaticName(f, v)
			if out[n] == nil {
				names = append(names, n)
			}
			out[n] = append(out[n], v)
		}
		return out, names
	}
	pre, preNames := group(c.pre, of)
	post, postNames := group(c.post, nf)
	for _, n := range postNames {
		o := pre[n]
		for i, v := range post[n] {
			if i >= len(o) {
				c.add(&Change{Kind: StaticLocalAdded, Line: c.post.Line(v.Span.Off), Subject: nf.Name + "::" + n, Func: nf.Name, Name: n, PreFunc: of, PostFunc: nf, PostVar: v})
				continue
			}
			if od, nd := StaticDecl(c.pre, of, o[i]), StaticDecl(c.post, nf, v); od != nd {
				c.add(&Change{Kind: StaticLocalChanged, Line: c.post.Line(v.Span.Off), Subject: nf.Name + "::" + n, Func: nf.Name, Name: n, Old: od, New: nd, PreFunc: of, PostFunc: nf, PreVar: o[i], PostVar: v})
			}
		}
	}
	for _, n := range preNames {
		for range pre[n][min(len(pre[n]), len(post[n])):] {
			c.add(&Change{Kind: StaticLocalRemoved, Line: c.post.Line(nf.Span.Off), Subject: nf.Name + "::" + n, Func: nf.Name, Name: n, PreFunc: of, PostFunc: nf})
		}
	}
}

// StaticName returns the name of a static local: the variable's, or for
// one a macro defines ("static DEFINE_RATELIMIT_STATE(rs, HZ, 10);", which
// the model names after the macro) the macro's first argument.
func StaticName(f *ast.File, v *ast.Var) string {
	if v.Type != "" {
		return v.Name
	}
	toks := f.CodeTokens(v.Span)
	for k := 0; k+3 < len(toks); k++ {
		if toks[k].Text == v.Name && toks[k+1].Text == "(" && toks[k+2].Kind == ast.Ident && (toks[k+3].Text == "," || toks[k+3].Text == ")") {
			return toks[k+2].Text
		}
	}
	return v.Name
}

// StaticDecl returns the normalised declaration of static local v of fn:
// its statement, or for a statement that declares several variables
// ("static int a, b[3];") the specifiers with v's own declarator and
// initializer ("static int b[3]").
func StaticDecl(f *ast.File, fn *ast.Func, v *ast.Var) string {
	toks := f.CodeTokens(v.Span)
	var same []*ast.Var
	at := -1
	for _, o := range fn.StaticLocals {
		if o.Span == v.Span {
			if o == v {
				at = len(same)
			}
			same = append(same, o)
		}
	}
	if len(same) <= 1 || at < 0 {
		return ast.JoinTokens(toks)
	}
	body := toks
	if n := len(body); n > 0 && body[n-1].Text == ";" {
		body = body[:n-1]
	}
	parts := ast.SplitTop(body)
	if len(parts) != len(same) {
		return ast.JoinTokens(toks)
	}
	if at == 0 {
		return ast.JoinTokens(parts[0])
	}
	// the specifiers: the first declarator's tokens before its name and
	// its pointer stars
	spec := parts[0]
	for k, t := range spec {
		if t.Kind == ast.Ident && t.Text == same[0].Name {
			spec = spec[:k]
			break
		}
	}
	for len(spec) > 0 && (spec[len(spec)-1].Text == "*" || spec[len(spec)-1].Text == "(") {
		spec = spec[:len(spec)-1]
	}
	return ast.JoinTokens(spec) + " " + ast.JoinTokens(parts[at])
}

func macroSig(m *ast.Macro) string {
	s := m.Name
	if m.FuncLike {
		s += "(" + strings.Join(m.Params, ", ") + ")"
	}
	return s + " " + m.Body
}

func (c *cmp) macros() {
	group := func(f *ast.File) map[string][]*ast.Macro {
		out := map[string][]*ast.Macro{}
		for _, m := range f.Macros {
			if !m.Undef && m.Name != f.Guard {
				out[m.Name] = append(out[m.Name], m)
			}
		}
		return out
	}
	pre, post := group(c.pre), group(c.post)
	names := map[string]bool{}
	for n := range pre {
		names[n] = true
	}
	for n := range post {
		names[n] = true
	}
	for n := range names {
		o, nw := pre[n], post[n]
		switch {
		case len(o) == 0:
			c.add(&Change{Kind: MacroAdded, Line: c.post.Line(nw[0].Span.Off), Subject: n, Name: n, New: macroSig(nw[0]), PostMacro: nw[0]})
		case len(nw) == 0:
			c.add(&Change{Kind: MacroRemoved, Line: c.pre.Line(o[0].Span.Off), Subject: n, Name: n, Old: macroSig(o[0])})
		default:
			for i := range nw {
				if i >= len(o) || macroSig(o[i]) != macroSig(nw[i]) || !o[i].Cond.Equal(nw[i].Cond) {
					old := ""
					if i < len(o) {
						old = macroSig(o[i])
					}
					c.add(&Change{Kind: MacroChanged, Line: c.post.Line(nw[i].Span.Off), Subject: n, Name: n, Old: old, New: macroSig(nw[i]), PostMacro: nw[i]})
					break
				}
			}
			if len(o) > len(nw) {
				c.add(&Change{Kind: MacroChanged, Line: c.post.Line(nw[len(nw)-1].Span.Off), Subject: n, Name: n, Old: macroSig(o[len(nw)]), PostMacro: nw[len(nw)-1]})
			}
		}
	}
}

func (c *cmp) vars() {
	key := func(vs []*ast.Var) map[*ast.Var]string {
		out := map[*ast.Var]string{}
		n := map[string]int{}
		for _, v := range vs {
			out[v] = fmt.Sprintf("%s#%d", v.Name, n[v.Name])
			n[v.Name]++
		}
		return out
	}
	preKey, postKey := key(c.pre.Vars), key(c.post.Vars)
	pre := map[string]*ast.Var{}
	for _, v := range c.pre.Vars {
		pre[preKey[v]] = v
	}
	post := map[string]bool{}
	for _, v := range c.post.Vars {
		post[postKey[v]] = true
		o, ok := pre[postKey[v]]
		switch {
		case !ok:
			c.add(&Change{Kind: VarAdded, Line: c.post.Line(v.Span.Off), Subject: v.Name, Name: v.Name, New: v.Type, PostVar: v})
		case CanonType(o.Type) != CanonType(v.Type):
			c.add(&Change{Kind: VarTypeChanged, Line: c.post.Line(v.Span.Off), Subject: v.Name, Name: v.Name, Old: o.Type, New: v.Type, PostVar: v})
		case o.InitText != v.InitText || strings.Join(o.Attrs, " ") != strings.Join(v.Attrs, " "):
			c.add(&Change{Kind: VarInitChanged, Line: c.post.Line(v.Span.Off), Subject: v.Name, Name: v.Name, Old: o.InitText, New: v.InitText, PostVar: v})
		}
	}
	for _, v := range c.pre.Vars {
		if !post[preKey[v]] {
			c.add(&Change{Kind: VarRemoved, Line: c.pre.Line(v.Span.Off), Subject: v.Name, Name: v.Name, Old: v.Type})
		}
	}
}

func (c *cmp) decls() {
	key := func(d *ast.Decl) string { return string(d.Kind) + " " + d.Name }
	pre := map[string]*ast.Decl{}
	preTexts := map[string]int{} // a name declared twice (ixgbe.h declares ixgbe_xmit_frame_ring with and without parameter names)
	for _, d := range c.pre.Decls {
		if _, ok := pre[key(d)]; !ok {
			pre[key(d)] = d
		}
		preTexts[key(d)+"\x00"+d.Text]++
	}
	post := map[string]bool{}
	for _, d := range c.post.Decls {
		post[key(d)] = true
		o, ok := pre[key(d)]
		switch {
		case !ok:
			c.add(&Change{Kind: DeclAdded, Line: c.post.Line(d.Span.Off), Subject: string(d.Kind) + " " + d.Name, Name: d.Name, New: d.Text})
		case preTexts[key(d)+"\x00"+d.Text] > 0:
			// the same declaration as before (one of them, if several)
			preTexts[key(d)+"\x00"+d.Text]--
		case o.Text != d.Text:
			c.add(&Change{Kind: DeclChanged, Line: c.post.Line(d.Span.Off), Subject: string(d.Kind) + " " + d.Name, Name: d.Name, Old: o.Text, New: d.Text})
		}
	}
	for _, d := range c.pre.Decls {
		if !post[key(d)] {
			c.add(&Change{Kind: DeclRemoved, Line: c.pre.Line(d.Span.Off), Subject: string(d.Kind) + " " + d.Name, Name: d.Name, Old: d.Text})
		}
	}
}

func (c *cmp) includes() {
	// by count: a second #include of a header the file already includes
	// (a no-op behind its include guard) is still an added line
	pre := map[string]int{}
	for _, i := range c.pre.Includes {
		pre[i.Path]++
	}
	post := map[string]int{}
	for _, i := range c.post.Includes {
		post[i.Path]++
		if post[i.Path] > pre[i.Path] {
			c.add(&Change{Kind: IncludeAdded, Line: c.post.Line(i.Span.Off), Subject: i.Path, Name: i.Path})
		}
	}
	seen := map[string]int{}
	for _, i := range c.pre.Includes {
		seen[i.Path]++
		if seen[i.Path] > post[i.Path] {
			c.add(&Change{Kind: IncludeRemoved, Line: c.pre.Line(i.Span.Off), Subject: i.Path, Name: i.Path})
		}
	}
}

func callText(m *ast.MacroCall) string { return m.Name + "(" + strings.Join(m.Args, ", ") + ")" }

func (c *cmp) calls() {
	pre := map[string]int{}
	for _, m := range c.pre.Calls {
		pre[callText(m)]++
	}
	post := map[string]int{}
	for _, m := range c.post.Calls {
		t := callText(m)
		post[t]++
		if post[t] > pre[t] {
			c.add(&Change{Kind: CallAdded, Line: c.post.Line(m.Span.Off), Subject: t, Name: m.Name, New: t})
		}
	}
	seen := map[string]int{}
	for _, m := range c.pre.Calls {
		t := callText(m)
		seen[t]++
		if seen[t] > post[t] {
			c.add(&Change{Kind: CallRemoved, Line: c.pre.Line(m.Span.Off), Subject: t, Name: m.Name, Old: t})
		}
	}
}

func enumKey(e *ast.Enum) string {
	if e.Name != "" {
		return e.Name
	}
	if len(e.Values) > 0 {
		return "{" + e.Values[0].Name + ",...}"
	}
	return ""
}

func enumText(e *ast.Enum) string {
	var parts []string
	for _, v := range e.Values {
		if v.Value != "" {
			parts = append(parts, v.Name+" = "+v.Value)
		} else {
			parts = append(parts, v.Name)
		}
	}
	return strings.Join(parts, ", ")
}

func (c *cmp) enums() {
	pre := map[string]*ast.Enum{}
	for _, e := range c.pre.Enums {
		pre[enumKey(e)] = e
	}
	for _, e := range c.post.Enums {
		o, ok := pre[enumKey(e)]
		if !ok {
			c.add(&Change{Kind: EnumAdded, Line: c.post.Line(e.Span.Off), Subject: "enum " + enumKey(e), Name: enumKey(e), New: enumText(e), PostEnum: e})
			continue
		}
		if enumText(o) != enumText(e) {
			c.add(&Change{Kind: EnumChanged, Line: c.post.Line(e.Span.Off), Subject: "enum " + enumKey(e), Name: enumKey(e), Old: enumText(o), New: enumText(e), PreEnum: o, PostEnum: e})
		}
	}
	post := map[string]bool{}
	for _, e := range c.post.Enums {
		post[enumKey(e)] = true
	}
	for _, o := range c.pre.Enums {
		if !post[enumKey(o)] {
			c.add(&Change{Kind: EnumRemoved, Line: c.pre.Line(o.Span.Off), Subject: "enum " + enumKey(o), Name: enumKey(o), Old: enumText(o), PreEnum: o})
		}
	}
}

// lineSpan is an inclusive range of lines.
type lineSpan struct{ from, to int }

// changedLines returns, for each hunk, the pre-image lines it deletes and
// the post-image lines it inserts.
func changedLines(h *patch.Hunk) (del, ins []int) {
	o, n := h.OldStart, h.NewStart
	if h.OldLines == 0 {
		o++
	}
	if h.NewLines == 0 {
		n++
	}
	for _, l := range h.Lines {
		switch l.Op {
		case patch.Context:
			o++
			n++
		case patch.Delete:
			del = append(del, o)
			o++
		case patch.Insert:
			ins = append(ins, n)
			n++
		}
	}
	return del, ins
}

// assignHunks ties each change to the hunks whose changed lines touch the
// entity, and reports hunks that no entity explains.
func (c *cmp) assignHunks() {
	spanOf := func(ch *Change) (pre, post *lineSpan) {
		mk := func(f *ast.File, s ast.Span) *lineSpan {
			return &lineSpan{f.Line(s.Off), f.Line(max(s.Off, s.End-1))}
		}
		switch {
		case ch.PostMember != nil:
			post = mk(c.post, ch.PostMember.Decl)
			if ch.PreMember != nil {
				// a line deleted inside the old declaration (a parameter
				// of a function-pointer member) is the change's too
				pre = mk(c.pre, ch.PreMember.Decl)
			}
		case ch.PreStruct != nil && ch.PostStruct != nil:
			pre, post = mk(c.pre, ch.PreStruct.Span), mk(c.post, ch.PostStruct.Span)
		case ch.PostStruct != nil:
			post = mk(c.post, ch.PostStruct.Span)
		case ch.PreStruct != nil:
			pre = mk(c.pre, ch.PreStruct.Span)
		}
		if ch.PostVar != nil {
			post = mk(c.post, ch.PostVar.Span)
		} else if ch.PostFunc != nil {
			post = mk(c.post, ch.PostFunc.Span)
		}
		if ch.PreVar != nil {
			pre = mk(c.pre, ch.PreVar.Span)
		} else if ch.PreFunc != nil {
			pre = mk(c.pre, ch.PreFunc.Span)
		}
		if ch.PostMacro != nil {
			post = mk(c.post, ch.PostMacro.Span)
		}
		if ch.PostEnum != nil {
			post = mk(c.post, ch.PostEnum.Span)
		}
		if ch.PreEnum != nil {
			pre = mk(c.pre, ch.PreEnum.Span)
		}
		if ch.Kind == DeclChanged || ch.Kind == DeclAdded || ch.Kind == DeclRemoved {
			// a prototype may span lines: all of them are the change's
			for _, d := range c.post.Decls {
				if d.Name == ch.Name && ch.Kind != DeclRemoved {
					post = mk(c.post, d.Span)
				}
			}
			for _, d := range c.pre.Decls {
				if d.Name == ch.Name && ch.Kind != DeclAdded {
					pre = mk(c.pre, d.Span)
				}
			}
		}
		if pre == nil && post == nil {
			// single-line entities: the line itself on its side
			if strings.Contains(string(ch.Kind), "removed") {
				pre = &lineSpan{ch.Line, ch.Line}
			} else {
				post = &lineSpan{ch.Line, ch.Line}
			}
		}
		return pre, post
	}
	// The changed lines of all hunks, per side, in ascending order (hunks
	// come in file order and do not overlap), each with its hunk; last[h]
	// is the index just past hunk h's lines. A change's hunks are found by
	// a binary search for the first changed line in its span, then one
	// step per hunk: linear in the size of the diff, however many changes
	// a hunk holds.
	type mark struct{ line, hunk int }
	hunks := c.fc.Diff.Hunks
	var dels, inss []mark
	delEnd, insEnd := make([]int, len(hunks)), make([]int, len(hunks))
	hunkDel, hunkIns := make([][]int, len(hunks)), make([][]int, len(hunks))
	for hi, h := range hunks {
		del, ins := changedLines(h)
		hunkDel[hi], hunkIns[hi] = del, ins
		for _, l := range del {
			dels = append(dels, mark{l, hi})
		}
		for _, l := range ins {
			inss = append(inss, mark{l, hi})
		}
		delEnd[hi], insEnd[hi] = len(dels), len(inss)
	}
	touched := func(marks []mark, end []int, s *lineSpan, out []int) []int {
		if s == nil {
			return out
		}
		k := sort.Search(len(marks), func(i int) bool { return marks[i].line >= s.from })
		for k < len(marks) && marks[k].line <= s.to {
			out = append(out, marks[k].hunk)
			k = end[marks[k].hunk]
		}
		return out
	}
	explained := make([]bool, len(hunks))
	for _, ch := range c.fc.Changes {
		pre, post := spanOf(ch)
		hs := touched(dels, delEnd, pre, nil)
		hs = touched(inss, insEnd, post, hs)
		slices.Sort(hs)
		for _, h := range slices.Compact(hs) {
			ch.Hunks = append(ch.Hunks, h+1)
			explained[h] = true
		}
	}
	preCode, postCode := codeLines(c.pre), codeLines(c.post)
	for hi, h := range hunks {
		if explained[hi] {
			continue
		}
		del, ins := hunkDel[hi], hunkIns[hi]
		// Lines no entity claims: comments and blank lines are harmless.
		kind := CommentOnly
		if (hasCode(preCode, del) || hasCode(postCode, ins)) && codeOn(c.pre, del) != codeOn(c.post, ins) {
			kind = Unclassified // not code spelled another way ("unsigned int" for "unsigned")
		}
		line := h.NewStart
		if len(ins) > 0 {
			line = ins[0]
		}
		c.fc.Changes = append(c.fc.Changes, &Change{Kind: kind, File: c.fc.Path, Line: line, Subject: fmt.Sprintf("hunk %d", hi+1), Hunks: []int{hi + 1}})
	}
}

// codeOn is the code of the tokens that start on the given 1-based lines
// of f, integer types spelled one way (CanonCode).
func codeOn(f *ast.File, lines []int) string {
	on := map[int]bool{}
	for _, l := range lines {
		on[l] = true
	}
	var toks []ast.Token
	for _, t := range f.Tokens {
		if on[f.Line(t.Off)] {
			toks = append(toks, t)
		}
	}
	return CanonCode(toks)
}

// codeLines marks the lines of f that hold a code token (not a comment),
// indexed by 1-based line number.
func codeLines(f *ast.File) []bool {
	var out []bool
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment {
			continue
		}
		to := f.Line(max(t.Off, t.End-1))
		for len(out) <= to {
			out = append(out, false)
		}
		for l := f.Line(t.Off); l <= to; l++ {
			out[l] = true
		}
	}
	return out
}

// hasCode reports whether any of the given lines holds a code token.
func hasCode(code []bool, lines []int) bool {
	for _, l := range lines {
		if l >= 0 && l < len(code) && code[l] {
			return true
		}
	}
	return false
}

// freshStatics are the function-scope statics a livepatch builder never
// pairs with the running kernel's copy by name, giving the livepatch
// module a fresh copy instead (kpatch-build's is_special_static(), objtool
// klp diff's is_uncorrelated_static_local()): "both", or the one builder
// that does ("kpatch", "klp").
var freshStatics = map[string]string{
	"__key": "both", "__warned": "both", "__already_done": "both", "__func__": "both",
	"_rs": "both", "CSWTCH": "both", "_entry": "both",
	"__FUNCTION__": "kpatch", "_entry_ptr": "klp", "descriptor": "klp",
}

// FreshStatic reports whether builder ("klp", "kpatch", or "" for both)
// gives a function-scope static named name, in section (".data..once"
// print-once flags are copied afresh by both; "" when unknown), a fresh
// copy in the livepatch module rather than the running kernel's.
func FreshStatic(name, section, builder string) bool {
	if strings.HasPrefix(section, ".data..once") || strings.HasPrefix(section, ".data.once") {
		return true
	}
	switch who := freshStatics[name]; who {
	case "both":
		return true
	case "":
		return false
	default:
		return builder == who
	}
}

// FreshStaticOneBuilder says which builder alone gives a static named
// name a fresh copy ("kpatch", "klp"), "" when both or neither do.
func FreshStaticOneBuilder(name string) string {
	if who := freshStatics[name]; who != "both" {
		return who
	}
	return ""
}
