// Package overlay is the transform for a struct of which no object is ever
// made: the code only lays it over bytes it is handed (a network message,
// a firmware table), through pointer casts. Nothing in the running kernel
// holds such a struct, so a layout change cannot meet an object made with
// the old one; but the code the livepatch leaves alone is compiled from
// the header and must keep its layout. So the header keeps its original
// definition, and each patched file that uses the struct gets upstream's
// definition under a name of its own, struct NAME_lp, which it then uses.
//
// Before (upstream):	fs/smb/client/smb2pdu.h
//
//	struct smb2_error_context_rsp {
//		...
//	-	__u8  ErrorContextData; /* ErrorDataLength long array */
//	+	__u8  ErrorContextData[];
//	} __packed;
//
// After (rewritten):	the header hunk is gone; fs/smb/client/smb2file.c
//
//	defines struct smb2_error_context_rsp_lp as upstream defines
//	struct smb2_error_context_rsp, and names it wherever it named
//	struct smb2_error_context_rsp.
//
// The same holds for a struct whose only objects are const static tables of
// the patched files that only their functions read (an ioctl table whose
// entry struct gains a member): the tables are copied too, as NAME_lp with
// upstream's contents, new data of the livepatch that the patched
// functions read; the running kernel's tables stay, read only by the
// functions the livepatch replaces. A table that is written at run time,
// or that other data points to, is an object the copy would lose.
//
// The compiler proves both halves. No other object exists: every file the
// config builds that names the struct is compiled with the struct made
// incomplete, and the only errors are sizeof and offsetof (no variable,
// allocation, member of another struct, array or copy). And the patched
// files no longer use the original: they are compiled as rewritten, with
// the original made incomplete, without one error or pointer-type
// warning. A struct whose header gives it a typedef, or that another
// transform already rewrote in part, is refused with the reason.
package overlay

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the overlay transform.
var Transform = &rewrite.Transform{
	Name: "overlay",
	Doc: "a struct of which no object is made (the code lays it over buffers), or whose only objects are const tables of the patched files, " +
		"keeps its original definition in the header; the patched files that use it get upstream's definition as struct NAME_lp (and copies of the tables)",
	Kinds:    []hazard.Kind{hazard.StructLayout, hazard.DataInit, hazard.SourceMacro},
	Requires: []rewrite.Requirement{sites.Creation},
	Run:      run,
}

// Suffix is added to the tag of the struct the patched files use.
const Suffix = "_lp"

// target is one struct whose layout changes, with its open entries.
type target struct {
	header, tag string
	entries     []*rewrite.Entry
}

func run(p *rewrite.Pass) error {
	if !p.HasCompiler() {
		return nil
	}
	targets := map[string]*target{}
	done := map[string]bool{} // structs with an entry another transform resolved
	for _, e := range p.Entries {
		ch := e.Change
		if e.Kind != hazard.StructLayout || ch == nil || ch.Struct == "" || !change.IsHeader(e.File) {
			continue
		}
		if ch.PreStruct != nil && ch.PreStruct.Kind != "struct" || ch.PostStruct != nil && ch.PostStruct.Kind != "struct" {
			continue
		}
		k := e.File + "\x00" + ch.Struct
		if e.ResolvedBy != "" {
			done[k] = true
			continue
		}
		if targets[k] == nil {
			targets[k] = &target{header: e.File, tag: ch.Struct}
		}
		targets[k].entries = append(targets[k].entries, e)
	}
	for _, k := range slices.Sorted(maps.Keys(targets)) {
		t := targets[k]
		if done[k] {
			for _, e := range t.entries {
				p.Refuse(e, "another transform already rewrote part of struct "+t.tag+": its definition is not upstream's any more")
			}
			continue
		}
		why, err := rewriteStruct(p, t)
		if err != nil {
			if kperr.IsEnvironment(err) {
				return err
			}
			why = err.Error()
		}
		if why != "" {
			for _, e := range t.entries {
				p.Refuse(e, why)
			}
		}
	}
	return nil
}

// rewriteStruct proposes the edits for one struct and resolves its
// entries, or says why not.
func rewriteStruct(p *rewrite.Pass, t *target) (string, error) {
	fc := p.ChangeOf(t.header)
	if fc == nil || fc.Pre == nil || fc.Post == nil {
		return "the struct is not in a header the patch changes", nil
	}
	pre, post := fc.Pre.Struct(t.tag), fc.Post.Struct(t.tag)
	if pre == nil || post == nil || pre.Parent != nil || post.Parent != nil {
		return "struct " + t.tag + " is not defined at the top level of " + t.header + " both before and after the patch", nil
	}
	for _, d := range fc.Pre.Decls {
		if d.Kind == ast.Typedef && strings.Contains(d.Text, "struct "+t.tag) {
			return fmt.Sprintf("%s gives struct %s the typedef name %s, which code can use without naming the struct", t.header, t.tag, d.Name), nil
		}
	}
	res, err := sites.Find(p, t.header, t.tag)
	if err != nil {
		return "", err
	}
	var objects []string
	var tables []*table
	for _, st := range res.Sites {
		if st.Kind == sites.Array && !sites.StaticStorage(p, st) && st.Fn == "" {
			objects = append(objects, fmt.Sprintf("%s (an array member of another struct)", st))
			continue
		}
		if st.Kind == sites.Global || st.Kind == sites.Array {
			tb, why := staticTable(p, st)
			if why == "" {
				tables = append(tables, tb)
				continue
			}
			objects = append(objects, fmt.Sprintf("%s (%s)", st, why))
			continue
		}
		if st.Kind != sites.Size && st.Kind != sites.Zeroing {
			if st.Unfit != "" {
				objects = append(objects, fmt.Sprintf("%s (%s)", st, st.Unfit))
			} else {
				objects = append(objects, st.String())
			}
		}
	}
	if len(objects) > 0 {
		return "objects of the struct exist, made with the running kernel's layout: " + strings.Join(objects, "; "), nil
	}

	// the patched files that name the struct get their own definition
	users := []string{}
	for _, f := range p.CurrentSources() {
		if len(identRefs(p.Parse(f), t.tag, true)) > 0 {
			users = append(users, f)
		}
	}
	if len(users) == 0 {
		return "no patched file names struct " + t.tag + ": the layout change reaches only code the livepatch does not replace", nil
	}
	if why, err := unpatchedReaders(p, t, fc.Pre.Text(pre.Span), fc.Post.Text(post.Span)); why != "" || err != nil {
		return why, err
	}
	def := definition(fc.Post, post, t.header, t.tag, p.Parse(t.header))
	files := p.CurrentFiles()
	var eds []edit.Edit
	for _, f := range users {
		pf := p.Parse(f)
		var fe []edit.Edit
		for _, off := range identRefs(pf, t.tag, true) {
			fe = append(fe, edit.Insert(f, off, Suffix))
		}
		for _, tb := range tables {
			if tb.file != f {
				continue
			}
			for _, off := range identRefs(pf, tb.v.Name, false) {
				fe = append(fe, edit.Insert(f, off, Suffix))
			}
		}
		at := gen.InsertionPoint(pf)
		fe = append(fe, edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, def)), Why: "upstream's definition of struct " + t.tag})
		text, err := edit.Apply(pf.Src, fe)
		if err != nil {
			return "", err
		}
		files[f] = text
		eds = append(eds, fe...)
	}
	cur := p.Parse(t.header)
	at := cur.Struct(t.tag)
	if at == nil || cur.Text(at.Span) != fc.Post.Text(post.Span) {
		return "another transform changed struct " + t.tag + " first", nil
	}
	restore := edit.Edit{File: t.header, Off: at.Span.Off, End: at.Span.End, Text: fc.Pre.Text(pre.Span), Why: "original struct " + t.tag + " kept"}
	if end, preEnd := declEnd(cur, at), declEnd(fc.Pre, pre); end > at.Span.End && preEnd > pre.Span.End {
		// attributes after the closing brace (__packed) belong to it too
		restore.End, restore.Text = end, string(fc.Pre.Src[pre.Span.Off:preEnd])
	}
	header, err := edit.Apply(cur.Src, []edit.Edit{restore})
	if err != nil {
		return "", err
	}

	// the compiler: with the original made incomplete, the rewritten
	// files must not need it
	inc, ok := sites.Incomplete(header, t.tag)
	if !ok {
		return "kprewrite cannot find struct " + t.tag + " in " + t.header + " as rewritten", nil
	}
	files[t.header] = inc
	srcs, err := p.Compilable(users)
	if err != nil {
		return "", err
	}
	if len(srcs) < len(users) {
		return "a patched file that names the struct is not built here: " + strings.Join(users, ", "), nil
	}
	o, err := p.Oracle()
	if err != nil {
		return "", err
	}
	// an error of the patch as it stands in between (a prototype a later
	// transform gives back) is not the overlay's: the later transform
	// settles it or refuses
	added, err := o.AddedDiagnostics(p.Context(), files, p.CurrentFiles(), srcs, func(d build.Diagnostic) bool {
		return d.Severity == "error" || d.Severity == "warning" && strings.Contains(d.Message, "struct "+t.tag)
	})
	if err != nil {
		return "", err
	}
	if len(added) > 0 {
		d := added[0]
		return fmt.Sprintf("the patched files still need the original struct %s after it is renamed in them: %s:%d: %s", t.tag, d.File, d.Line, d.Message), nil
	}

	for _, e := range eds {
		e.Why = "struct " + t.tag + " used as " + t.tag + Suffix
		p.Edit(e)
	}
	restore.Hazard = t.entries[0].Hazard
	p.Edit(restore)
	rest := fmt.Sprintf("%s keeps the running kernel's definition, and %s %s upstream's as struct %s%s (the compiler checked that %s no longer %s the original)",
		t.header, strings.Join(users, ", "), verb(len(users), "uses", "use"), t.tag, Suffix, verb(len(users), "it", "they"), verb(len(users), "needs", "need"))
	how := fmt.Sprintf("no object of struct %s exists (%s: no variable, allocation, member or array of it, only sizeof and offsetof), so the code lays it over bytes it is handed; %s",
		t.tag, res.Method, rest)
	if len(tables) > 0 {
		var names []string
		for _, tb := range tables {
			names = append(names, fmt.Sprintf("%s (%s)", tb.v.Name, tb.file))
		}
		how = fmt.Sprintf("the only objects of struct %s are the const static data %s (%s), which only functions of the patched files read: the patched code reads a copy with upstream's contents, new data of the livepatch; %s",
			t.tag, strings.Join(names, ", "), res.Method, rest)
	}
	for _, e := range t.entries {
		p.Resolve(e, how)
	}
	copied := map[string]bool{} // "file\x00var name"
	for _, tb := range tables {
		copied[tb.file+"\x00var "+tb.v.Name] = true
		for _, e := range p.Entries {
			if e.ResolvedBy == "" && e.Kind == hazard.DataInit && e.File == tb.file && e.Subject == tb.v.Name {
				p.Resolve(e, fmt.Sprintf("the patched code reads a copy with upstream's contents, %s%s, new data of the livepatch (its element type, struct %s, changes layout; see there); the running kernel's %s stays as it is, read only by the functions the livepatch replaces",
					tb.v.Name, Suffix, t.tag, tb.v.Name))
			}
		}
	}
	// a macro of the file that only the copied tables use (the ioctl
	// table's AMDKFD_IOCTL_DEF): the copies are compiled with its new
	// definition, the running kernel's tables keep the old one
	for _, e := range p.Entries {
		if e.ResolvedBy != "" || e.Kind != hazard.SourceMacro || len(e.Reaches) == 0 {
			continue
		}
		all := true
		for _, k := range e.Reaches {
			all = all && copied[e.File+"\x00"+k]
		}
		if all {
			var copies []string
			for _, n := range shown(e.Reaches) {
				copies = append(copies, n+Suffix)
			}
			p.Resolve(e, fmt.Sprintf("only %s of the file use%s it, and the patched code reads %s: copies with upstream's contents, compiled with the new definition; the running kernel's data keeps the old one",
				strings.Join(shown(e.Reaches), ", "), verb(len(e.Reaches), "s", ""), strings.Join(copies, ", ")))
		}
	}
	return "", nil
}

// table is a static variable of a patched file that holds objects of the
// struct (an array of them, or one).
type table struct {
	file string
	v    *ast.Var
}

// staticTable returns the static variable of a patched file that a
// creation site of static storage defines, or says why it cannot be
// copied: only the file's functions (and its macros) may name it, so that
// every reader is a function the patch replaces once it names the copy.
func staticTable(p *rewrite.Pass, st *sites.Site) (*table, string) {
	if st.Fn != "" {
		return nil, "an object inside a function"
	}
	if !slices.Contains(p.CurrentSources(), st.File) {
		return nil, "static data of a file the patch does not change"
	}
	f := p.Parse(st.File)
	var v *ast.Var
	for _, x := range f.Vars {
		if x.Func == nil && x.Static && !x.Extern && x.Span.Off <= st.Off && st.Off < x.Span.End {
			v = x
		}
	}
	if v == nil {
		return nil, "not a static variable kprewrite can read"
	}
	if !v.Const {
		return nil, fmt.Sprintf("%s is not const: a copy would start from its initializer and lose what the running kernel wrote into it", v.Name)
	}
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i, t := range toks {
		if t.Kind != ast.Ident || t.Text != v.Name || i > 0 && (toks[i-1].Text == "." || toks[i-1].Text == "->") {
			continue
		}
		if v.Span.Off <= t.Off && t.Off < v.Span.End {
			continue // its own definition
		}
		fn := f.FuncAt(t.Off)
		if fn == nil {
			return nil, fmt.Sprintf("%s:%d names %s outside a function: other data points to it", st.File, f.Line(t.Off), v.Name)
		}
		if why := tableRead(f, fn, toks, i); why != "" {
			return nil, fmt.Sprintf("%s:%d: %s", st.File, f.Line(t.Off), why)
		}
	}
	for _, t := range f.Tokens {
		if t.Kind != ast.Directive || !strings.Contains(t.Text, v.Name) {
			continue
		}
		rest := sizeRE(v.Name).ReplaceAllString(t.Text, "")
		for _, x := range ast.Tokenize([]byte(rest)) {
			if x.Kind == ast.Ident && x.Text == v.Name {
				return nil, fmt.Sprintf("%s:%d: a macro names %s other than by its size", st.File, f.Line(t.Off), v.Name)
			}
		}
	}
	return &table{file: st.File, v: v}, ""
}

// sizeRE matches the size forms of a table a macro may name:
// ARRAY_SIZE(t), sizeof(t), sizeof(t[0]).
func sizeRE(name string) *regexp.Regexp {
	n := regexp.QuoteMeta(name)
	return regexp.MustCompile(`\b(ARRAY_SIZE\s*\(\s*` + n + `\s*\)|sizeof\s*\(\s*` + n + `\s*(\[\s*0\s*\]\s*)?\))`)
}

// tableRead says how the use of a table at toks[i] in fn lets an address
// of it escape the function, or "" when it does not: its size
// (sizeof, ARRAY_SIZE), an element's field read (t[i].f), or an
// element's address held in a local pointer that is only dereferenced
// (p = &t[i]; p->f), as an ioctl dispatcher does. An address kept in an
// object would point into the running kernel's table after the livepatch
// loads, which has the old layout.
func tableRead(f *ast.File, fn *ast.Func, toks []ast.Token, i int) string {
	at := func(k int) string {
		if k < 0 || k >= len(toks) {
			return ""
		}
		return toks[k].Text
	}
	name := toks[i].Text
	if at(i-1) == "sizeof" || at(i-1) == "(" && (at(i-2) == "sizeof" || at(i-2) == "ARRAY_SIZE") {
		return ""
	}
	if at(i+1) != "[" {
		return "the address of " + name + " is used, not one of its elements"
	}
	depth, j := 0, i+1
	for ; j < len(toks); j++ {
		if toks[j].Text == "[" {
			depth++
		} else if toks[j].Text == "]" {
			if depth--; depth == 0 {
				break
			}
		}
	}
	if at(i-1) != "&" {
		if at(j+1) == "." {
			return ""
		}
		return "an element of " + name + " is used as a whole (copied or passed)"
	}
	// &t[i]: only into a local pointer of fn
	local := ""
	switch {
	case at(i-2) == "=" && i >= 3 && toks[i-3].Kind == ast.Ident && at(i-4) != "." && at(i-4) != "->":
		local = at(i - 3)
	default:
		return "the address of an element of " + name + " goes somewhere other than a local pointer"
	}
	if !declaresLocal(f, fn, local) {
		return "the address of an element of " + name + " is stored in " + local + ", which is not a local pointer of " + fn.Name
	}
	body := f.CodeTokens(fn.Body)
	for k, t := range body {
		if t.Kind != ast.Ident || t.Text != local || k > 0 && (body[k-1].Text == "." || body[k-1].Text == "->") {
			continue
		}
		next, prev := "", ""
		if k+1 < len(body) {
			next = body[k+1].Text
		}
		if k > 0 {
			prev = body[k-1].Text
		}
		switch {
		case next == "->", next == "=", prev == "!", next == "==", next == "!=", prev == "==", prev == "!=":
		case prev == "*" && (next == ";" || next == ","):
		case prev == "(" && next == ")" && k >= 2 && (body[k-2].Text == "if" || body[k-2].Text == "while"):
		default:
			return fmt.Sprintf("%s, which holds the address of an element of %s, is used other than to read through it (%s %s %s)", local, name, prev, local, next)
		}
	}
	return ""
}

// declaresLocal reports whether fn declares a local pointer variable name.
func declaresLocal(f *ast.File, fn *ast.Func, name string) bool {
	body := f.CodeTokens(fn.Body)
	for k := 1; k+1 < len(body); k++ {
		if body[k].Text == name && body[k-1].Text == "*" && (body[k+1].Text == "=" || body[k+1].Text == ";" || body[k+1].Text == ",") {
			return true
		}
	}
	return false
}

// identRefs returns the offsets just after each use of the identifier
// name in f, where the suffix goes: in the code and in the bodies of
// #define lines, not in comments or strings; a member name (after "." or
// "->") is not one. With tag, only "struct name" counts.
func identRefs(f *ast.File, name string, tag bool) []int {
	var out []int
	scan := func(toks []ast.Token, base int) {
		for i, t := range toks {
			if t.Kind != ast.Ident || t.Text != name {
				continue
			}
			prev := ""
			if i > 0 {
				prev = toks[i-1].Text
			}
			if tag && prev != "struct" || !tag && (prev == "." || prev == "->" || prev == "struct") {
				continue
			}
			out = append(out, base+t.End)
		}
	}
	var code []ast.Token
	for _, t := range f.Tokens {
		switch t.Kind {
		case ast.Comment:
		case ast.Directive:
			if dn, _ := ast.DirectiveName(t); dn == "define" {
				// the directive's text without its '#', tokenized: offsets
				// relative to the character after the '#'
				hash := strings.IndexByte(t.Text, '#')
				scan(ast.Tokenize([]byte(t.Text[hash+1:])), t.Off+hash+1)
			}
		default:
			code = append(code, t)
		}
	}
	scan(code, 0)
	slices.Sort(out)
	return out
}

// declEnd returns the offset after the ';' that ends the declaration the
// struct definition s is part of, or s.Span.End when no ';' follows its
// closing brace directly (after attributes only).
func declEnd(f *ast.File, s *ast.Struct) int {
	toks := f.CodeTokens(ast.Span{Off: s.Span.End, End: len(f.Src)})
	depth := 0
	for _, t := range toks {
		switch t.Text {
		case "(":
			depth++
		case ")":
			depth--
		case ";":
			if depth == 0 {
				return t.End
			}
		case "{", "}", "=", ",":
			if depth == 0 {
				return s.Span.End
			}
		}
		if depth == 0 && t.Kind == ast.Ident && !strings.HasPrefix(t.Text, "__") {
			return s.Span.End // a declarator: "} name;" is no attribute
		}
	}
	return s.Span.End
}

// definition renders upstream's definition of the struct under its new
// name, with a comment that says why.
func definition(post *ast.File, s *ast.Struct, header, tag string, cur *ast.File) string {
	text := string(post.Src[s.Span.Off:declEnd(post, s)])
	if !strings.HasSuffix(text, ";") {
		text += ";"
	}
	text = strings.Replace(text, "struct "+tag, "struct "+tag+Suffix, 1)
	var b strings.Builder
	b.WriteString(gen.Comment("", gen.Wrap(fmt.Sprintf("%s: struct %s as upstream defines it (%s). %s The running kernel keeps its definition for the code the livepatch leaves alone; no object made with it reaches the patched code, which uses this one.",
		gen.Banner, tag, header, gen.Generated), 75)...))
	// upstream's typedefs the definition names that the header, as
	// rewritten, does not have (a new function type of a new member)
	used := map[string]bool{}
	for _, t := range ast.Tokenize([]byte(text)) {
		if t.Kind == ast.Ident {
			used[t.Text] = true
		}
	}
	have := map[string]bool{}
	for _, d := range cur.Decls {
		if d.Kind == ast.Typedef {
			have[d.Name] = true
		}
	}
	for _, d := range post.Decls {
		if d.Kind == ast.Typedef && used[d.Name] && !have[d.Name] && d.Span.End <= s.Span.Off {
			b.WriteString(string(post.Src[d.Span.Off:d.Span.End]) + "\n\n")
		}
	}
	b.WriteString(text + "\n")
	return b.String()
}

// verb picks the singular or the plural form for n things.
// shown are hazard.Reaches keys as the report names them.
func shown(keys []string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, strings.TrimPrefix(k, "var "))
	}
	return out
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// unpatchedReaders checks the files the config builds that name the
// struct and that the patch does not change: they keep the running
// kernel's layout, while upstream recompiles them with the new one (a
// message parsed with two layouts). Each is compiled with the original
// definition and with upstream's (the rest of the tree as it was); any
// whose code differs refuses the overlay.
func unpatchedReaders(p *rewrite.Pass, t *target, preText, postText string) (string, error) {
	if !p.HasCompiler() {
		return "no .config: the files the patch does not change that name the struct cannot be compiled", nil
	}
	hu, err := p.Env.HeaderUsers(t.header)
	if err != nil {
		return "", err
	}
	var others []string
	for _, f := range hu.Candidates() {
		if _, patched := p.Current[f]; patched || !strings.Contains(string(p.File(f)), t.tag) || len(identRefs(p.Parse(f), t.tag, true)) == 0 {
			continue
		}
		others = append(others, f)
	}
	if len(others) == 0 {
		return "", nil
	}
	srcs, err := p.Compilable(others)
	if err != nil {
		return "", err
	}
	if len(srcs) == 0 {
		return "", nil
	}
	orig := p.Original(t.header)
	i := strings.Index(string(orig), preText)
	if i < 0 {
		return "kprewrite cannot find struct " + t.tag + " in the original " + t.header, nil
	}
	up := slices.Concat(orig[:i], []byte(postText), orig[i+len(preText):])
	dir, err := p.WorkDir()
	if err != nil {
		return "", err
	}
	base := map[string][]byte{}
	for f := range p.CurrentFiles() {
		if o := p.Original(f); o != nil {
			base[f] = o
		}
	}
	withUp := maps.Clone(base)
	withUp[t.header] = up
	comp := &build.Compiler{Env: p.Env, Dir: dir}
	ds, err := comp.CompareCode(p.Context(), &build.Variant{Name: "ovl0" + t.tag, Files: base}, &build.Variant{Name: "ovl1" + t.tag, Files: withUp},
		srcs, build.Options{Extra: []string{"-ffunction-sections", "-fdata-sections"}})
	if err != nil {
		return "", p.Failed(err)
	}
	for _, d := range ds {
		if d.A.Failed || d.B.Failed {
			return fmt.Sprintf("%s, which the patch does not change, names struct %s and does not compile with one of its definitions: what it reads with upstream's layout is not known", d.Source, t.tag), nil
		}
		if len(d.Changed) > 0 {
			return fmt.Sprintf("%s, which the patch does not change, reads struct %s, and upstream's layout changes its code (%s): it would go on reading the bytes with the running kernel's layout while the patched code reads them with upstream's", d.Source, t.tag, strings.Join(d.Changed, ", ")), nil
		}
	}
	return "", nil
}
