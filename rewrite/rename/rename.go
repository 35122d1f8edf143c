// Package rename is the transform for a global function whose prototype
// the upstream change changes, the kpatch patch-author guide's remedy: the
// new version becomes a new function under a new name, every caller the
// compiler finds switches to it, and the original stays in place,
// unchanged, for whatever still holds it (an export, a pointer in data of
// the running kernel). The header keeps the old prototype; the callers
// declare the new one.
//
// Before (upstream):	-int km_migrate(..., const struct xfrm_kmaddress *k,
//
//	+int km_migrate(..., const struct xfrm_kmaddress *k, struct net *net,
//
// After (rewritten):	net/xfrm/xfrm_state.c keeps the original km_migrate
//
//	and gains km_migrate_lp (upstream's new definition); net/xfrm/xfrm_policy.c
//	declares km_migrate_lp and calls it; include/net/xfrm.h is unchanged.
//
// It refuses when the function's address is taken (data of the running
// kernel keeps pointing to the original), when a caller is in a file the
// patch does not change (its object would call a function the livepatch
// does not have with the old arguments), or when the prototype is not
// declared in a header the patch changes.
package rename

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/lpname"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Transform is the rename transform.
var Transform = &rewrite.Transform{
	Name: "rename",
	Doc: "a global function whose prototype changes (or a static one whose address the running kernel stores, a timer callback) gets a new name (NAME_lp) with upstream's definition, every caller the compiler finds calls it, " +
		"and the original stays in place; the header keeps the old prototype (refused when the function's address is taken or a caller is outside the patch)",
	Kinds: []hazard.Kind{hazard.Prototype, hazard.HeaderDecl},
	Run:   run,
}

func run(p *rewrite.Pass) error {
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || e.Kind != hazard.Prototype || ch == nil || ch.PostFunc == nil || ch.PreFunc == nil {
			continue
		}
		decls := declEntries(p, ch.Func)
		if len(decls) == 0 && !ch.PreFunc.Has("static") {
			p.RefuseManual(e, "no header of the patch declares "+ch.Func+": its callers are not known",
				"give the new version a new name and patch every caller, or keep the prototype")
			continue
		}
		if why := one(p, e, decls); why != "" {
			p.RefuseManual(e, why, "give the new version a new name and patch every caller, or keep the prototype")
			for _, d := range decls {
				p.RefuseManual(d, why, "keep the old prototype in the header")
			}
		}
	}
	return nil
}

// declEntries are the header hazards of the patch that change the
// prototype of name.
func declEntries(p *rewrite.Pass, name string) []*rewrite.Entry {
	var out []*rewrite.Entry
	for _, e := range p.Entries {
		if e.ResolvedBy == "" && e.Kind == hazard.HeaderDecl && e.Change != nil && e.Change.Kind == change.DeclChanged && e.Change.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// maxCallers is how many files naming the function the compiler checks
// (a syntax-only compile each) before the rewrite is refused.
const maxCallers = 120

// use is one reference to the function the compiler found.
type use struct {
	file string
	line int
	fn   string // the function it is in ("" at file scope)
}

// one renames one function, or says why not.
func one(p *rewrite.Pass, e *rewrite.Entry, decls []*rewrite.Entry) string {
	name := e.Change.Func
	file := e.File
	if !p.HasCompiler() {
		return "no .config: the compiler cannot find the callers"
	}
	cur := p.Parse(file)
	fn := cur.Func(name)
	base := ast.Parse(file, p.Original(file))
	orig := base.Func(name)
	if fn == nil || orig == nil {
		return "the definition of " + name + " is not found in " + file
	}
	nameTok := nameToken(cur, fn)
	if nameTok == nil {
		return "the name of " + name + " is not found in its definition"
	}
	nn := p.UniqueName(lpname.For(name))
	// the headers as before for this prototype, and the new declaration
	// text (renamed) the callers get
	headers := map[string][]byte{}
	var newDecl string
	for _, d := range decls {
		h := p.Parse(d.File)
		var at *ast.Decl
		for i := range h.Decls {
			if h.Decls[i].Name == name {
				at = h.Decls[i]
			}
		}
		if at == nil {
			return "the declaration of " + name + " is not found in " + d.File
		}
		text := h.Text(at.Span)
		newDecl = renameIn(text, name, nn)
		if !strings.HasSuffix(strings.TrimSpace(newDecl), ";") {
			newDecl = strings.TrimSpace(newDecl) + ";"
		}
		headers[d.File] = gen.RevertLines(p.Original(d.File), h.Src, gen.LinesOf(h, at.Span))
	}
	// Who refers to name: the compiler, with the definition renamed and
	// the header's declaration gone.
	uses, why := findUses(p, name, file, decls)
	if why != "" {
		return why
	}
	byFile := map[string]map[string]bool{} // file -> functions whose references switch
	var inData []use
	for _, u := range uses {
		if u.fn == "" {
			inData = append(inData, u)
			continue
		}
		if _, ok := p.Current[u.file]; !ok {
			// a caller upstream leaves as it is calls the new version
			// upstream: it switches too, and joins the patch (the
			// guide's "patch every caller"), unless it never runs again
			if fn := p.Parse(u.file).Func(u.fn); fn == nil || slices.ContainsFunc([]string{"__init", "__exit", "__meminit", "__init_or_module"}, fn.Has) {
				return fmt.Sprintf("%s:%d, in %s, which the patch does not change and a livepatch cannot replace (init or exit code), calls %s", u.file, u.line, u.fn, name)
			}
		}
		if byFile[u.file] == nil {
			byFile[u.file] = map[string]bool{}
		}
		byFile[u.file][u.fn] = true
	}
	// its address in data: only stores in a member whose signature
	// changes alike, which the patched calls (retype) call with the new
	// arguments; the function keeps its name and old prototype for them
	if len(inData) > 0 {
		member, why := storedInRetyped(p, e, inData)
		if why != "" {
			return why
		}
		return inPlace(p, e, decls, headers, member, inData, byFile)
	}
	radius := map[string][]string{}
	for f, fns := range byFile {
		radius[f] = slices.Sorted(maps.Keys(fns))
	}
	if fns := p.Untraceable(radius); len(fns) > 0 {
		return fmt.Sprintf("the callers that would switch to the new version include %s, which ftrace cannot redirect (noinstr or notrace): no livepatch can replace them; leave this change out of the livepatch, or keep the prototype", strings.Join(fns, ", "))
	}
	// the references in those functions: calls only
	var refs []ref
	for f, fns := range byFile {
		pf := p.Parse(f)
		for _, x := range pf.Funcs {
			if !fns[x.Name] {
				continue
			}
			toks := pf.CodeTokens(x.Body)
			for i, t := range toks {
				if t.Kind != ast.Ident || t.Text != name || i > 0 && (toks[i-1].Text == "." || toks[i-1].Text == "->") {
					continue
				}
				if i+1 >= len(toks) || toks[i+1].Text != "(" {
					return fmt.Sprintf("%s:%d, in %s, takes the address of %s: whoever keeps it calls the original", f, pf.Line(t.Off), x.Name, name)
				}
				refs = append(refs, ref{f, t.Off})
			}
		}
	}
	// The original comes back word for word: the functions of its file it
	// calls must keep their prototypes (a helper the fix passes a new
	// argument to would not take the old call)
	body := base.CodeTokens(orig.Body)
	oldCall := "" // a member retype gives a new signature, called by the original
	for i, t := range body {
		// every implementation of such a member takes the new arguments
		// after the livepatch; the original passes the old ones
		if i > 0 && i+1 < len(body) && (body[i-1].Text == "->" || body[i-1].Text == ".") && body[i+1].Text == "(" && retypedMember(p, t.Text) != nil {
			if len(decls) == 0 {
				// a static function: the running kernel's data holds the
				// original and keeps calling it
				return fmt.Sprintf("the original %s, which the running kernel's data keeps calling, calls %s with the old arguments, while its implementations take the new ones after the livepatch; keep the prototype", name, t.Text)
			}
			oldCall = t.Text
		}
		if t.Kind != ast.Ident || t.Text == name {
			continue
		}
		was := base.Func(t.Text)
		if was == nil {
			continue
		}
		now := cur.Func(t.Text)
		if now == nil {
			return fmt.Sprintf("the original %s calls %s, which the patch removes: kept unchanged, it would not build", name, t.Text)
		}
		if strings.Join(strings.Fields(base.Text(was.Header)), " ") != strings.Join(strings.Fields(cur.Text(now.Header)), " ") {
			return fmt.Sprintf("the original %s calls %s, whose prototype the patch changes: kept unchanged, it would not build", name, t.Text)
		}
	}
	// Edits: the original definition back before the new one, the new one
	// renamed, the callers switched and given the new prototype, the
	// headers as they were.
	origText := strings.TrimRight(base.Text(orig.Span), "\n")
	start := leadingComment(cur, fn.Span.Off)
	p.Edit(edit.Edit{File: file, Off: start, End: start, Text: origText + "\n\n", Why: "original definition kept", Hazard: e.Hazard})
	p.Edit(edit.Edit{File: file, Off: nameTok.Off, End: nameTok.End, Text: nn, Why: "new version renamed", Hazard: e.Hazard})
	for _, r := range refs {
		p.Edit(edit.Edit{File: r.file, Off: r.off, End: r.off + len(name), Text: nn, Why: "call of the new version", Hazard: e.Hazard})
	}
	callers := slices.Sorted(maps.Keys(byFile))
	if newDecl == "" {
		// a static function: no header declares it; its calls before the
		// definition need the new prototype
		newDecl = renameIn(strings.TrimSpace(cur.Text(fn.Header)), name, nn) + ";"
	}
	for _, f := range callers {
		if f == file && firstRefAfter(refs, f, nameTok.Off) {
			continue // defined before every call in its own file
		}
		pf := p.Parse(f)
		at := gen.InsertionPoint(pf)
		p.Edit(edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, newDecl)), Why: "prototype of the new version", Hazard: e.Hazard})
	}
	for _, d := range decls {
		h := p.Parse(d.File)
		for _, ed := range edit.Diff(d.File, h.Src, headers[d.File]) {
			ed.Why, ed.Hazard = "old prototype kept", d.Hazard
			p.Edit(ed)
		}
	}
	how := fmt.Sprintf("the new version is %s; the original %s stays in %s, unchanged; the %d calls the compiler finds (in %s) call %s, which they declare; the header keeps the old prototype",
		nn, name, file, len(refs), strings.Join(callers, ", "), nn)
	if len(refs) == 0 {
		how = fmt.Sprintf("the new version is %s; the original %s stays in %s, unchanged; the compiler finds no call of it in the files the config builds; the header keeps the old prototype",
			nn, name, file)
	}
	if len(decls) == 0 {
		how = fmt.Sprintf("the new version is %s; the original %s stays in %s, unchanged: what holds its address keeps running it, without the fix, until the patched code stores another; the %d calls the compiler finds call %s",
			nn, name, file, len(refs), nn)
	}
	if oldCall != "" {
		how += fmt.Sprintf("; the original, kept for what the compiler cannot see (a module built outside the config calling %s through its export), calls %s with the old arguments, which its implementations no longer take after the livepatch: such a module must not call it", name, oldCall)
	}
	var joined []string
	for _, f := range callers {
		if _, ok := p.Upstream[f]; !ok {
			joined = append(joined, f)
		}
	}
	if len(joined) > 0 {
		how += fmt.Sprintf("; %s, which upstream leaves as it is (its calls reach the new code upstream), joins the patch", strings.Join(joined, ", "))
	}
	p.Resolve(e, how)
	for _, d := range decls {
		p.Resolve(d, how)
	}
	return ""
}

// ref is a call of the function to switch to the new version.
type ref struct {
	file string
	off  int
}

// firstRefAfter reports whether every call in file f comes after off.
func firstRefAfter(refs []ref, f string, off int) bool {
	for _, r := range refs {
		if r.file == f && r.off < off {
			return false
		}
	}
	return true
}

// findUses compiles every includer of the headers that declare name (and
// the patched .c files) with every declaration of name, the definition
// included, marked deprecated: each reference is a diagnostic of its own
// (oracle.DeprecatedUses), in every function and every file, where taking
// the declaration away would show only the first use in a file.
//
// Code of a header that calls name is refused (every includer would need
// the new version), unless it is code upstream changes that another
// transform put back.
func findUses(p *rewrite.Pass, name, file string, decls []*rewrite.Entry) ([]use, string) {
	var cands []string
	for _, d := range decls {
		hu, err := p.Env.HeaderUsers(d.File)
		if err != nil {
			return nil, "the callers are not known: " + err.Error()
		}
		cands = append(cands, hu.Candidates()...)
	}
	for _, f := range p.CurrentSources() {
		if p.Env.ObjectOf(f).Kind != kbuild.NotBuilt {
			cands = append(cands, f)
		}
	}
	sort.Strings(cands)
	cands = slices.Compact(cands)
	var named []string
	for _, c := range cands {
		if strings.Contains(string(p.File(c)), name) {
			named = append(named, c)
		}
	}
	if len(named) > maxCallers {
		return nil, fmt.Sprintf("%d files the config may build name %s (more than %d): too widely used to switch every caller", len(named), name, maxCallers)
	}
	files := p.CurrentFiles()
	marked := []string{file}
	for _, d := range decls {
		marked = append(marked, d.File)
	}
	marked = append(marked, named...)
	for _, f := range slices.Compact(slices.Sorted(slices.Values(marked))) {
		if out, ok := deprecated(p.Parse(f), name); ok {
			files[f] = out
		}
	}
	compilable, err := p.Compilable(named)
	if err != nil {
		return nil, err.Error()
	}
	if fwd := movedForwards(p); fwd != "" {
		// the header's new prototypes name a struct through a forward
		// declaration another transform moved into the .c files: declared
		// first thing (on the first line: no line moves), the prototypes
		// see the struct every unit has, not one of their own
		for _, f := range compilable {
			text, ok := files[f]
			if !ok {
				text = p.File(f)
			}
			files[f] = append([]byte(fwd), text...)
		}
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, "the callers cannot be found without the compiler: " + err.Error()
	}
	ids, other, err := o.DeprecatedUses(progress.Named(p.Context(), "rename"), files, compilable, map[string]bool{name: true})
	if err == nil {
		err = oracle.MissingInclude(other)
	}
	if err != nil {
		return nil, "the compiler oracle failed: " + err.Error()
	}
	// a header's code that upstream changes and another transform put
	// back (an inline moved into its users) keeps calling the original,
	// whose prototype the header gets back: the new one it sees here may
	// disagree with its arguments
	oldCode := func(f string, line int) bool {
		return change.IsHeader(f) && p.RevertedLine(f, line)
	}
	found := map[string]bool{}
	for _, id := range ids {
		found[fmt.Sprintf("%s:%d", id.File, id.Line)] = true
	}
	for _, d := range other {
		if found[fmt.Sprintf("%s:%d", d.File, d.Line)] && oldCode(d.File, d.Line) && strings.Contains(d.Message, "'"+name+"'") {
			continue // old code's arguments, for the prototype it gets back
		}
		if strings.Contains(d.Message, "incompatible pointer type") && storesInRetyped(p, d.File, d.Line) {
			continue // ".m = fn": m keeps its old type, fn gets its old prototype back
		}
		return nil, fmt.Sprintf("the files that name it do not compile as the patch stands after the other rewrites, so its callers are not known (%s:%d: %s): settle the findings about that code first", d.File, d.Line, d.Message)
	}
	var out []use
	for _, id := range ids {
		if change.IsHeader(id.File) {
			if oldCode(id.File, id.Line) {
				continue
			}
			return nil, fmt.Sprintf("%s:%d, code of a header, calls %s: every includer the config builds would need the new version; move that code into the .c files that use it first", id.File, id.Line, name)
		}
		pf := p.Parse(id.File)
		u := use{file: id.File, line: id.Line}
		if x := funcOnLine(pf, id.Line); x != nil {
			u.fn = x.Name
		} else if strings.Contains(lineText(pf, id.Line), "EXPORT_SYMBOL") {
			continue // the export keeps naming the original
		}
		out = append(out, u)
	}
	return out, ""
}

// deprecated returns f's text with oracle.Deprecate before every
// file-scope declaration and the definition of name (on their own lines:
// no line moves), and whether there was one.
func deprecated(f *ast.File, name string) ([]byte, bool) {
	var eds []edit.Edit
	for _, d := range f.Decls {
		if d.Name == name && d.Kind == ast.Prototype {
			eds = append(eds, edit.Edit{Off: d.Span.Off, End: d.Span.Off, Text: oracle.Deprecate})
		}
	}
	if fn := f.Func(name); fn != nil {
		eds = append(eds, edit.Edit{Off: fn.Span.Off, End: fn.Span.Off, Text: oracle.Deprecate})
	}
	if len(eds) == 0 {
		return nil, false
	}
	out, err := edit.Apply(f.Src, eds)
	return out, err == nil
}

// funcOnLine returns the function whose body holds line (gcc names the
// line of a reference to a deprecated function, not its column).
func funcOnLine(f *ast.File, line int) *ast.Func {
	for _, x := range f.Funcs {
		if f.Line(x.Body.Off) <= line && line <= f.Line(x.Body.End-1) {
			return x
		}
	}
	return nil
}

// nameToken is the function's name in its definition's header.
func nameToken(f *ast.File, fn *ast.Func) *ast.Token {
	for _, t := range f.CodeTokens(fn.Header) {
		if t.Kind == ast.Ident && t.Text == fn.Name {
			tt := t
			return &tt
		}
	}
	return nil
}

// leadingComment returns where the comment right before off starts (a
// kernel-doc block stays with the definition it documents), or off.
func leadingComment(f *ast.File, off int) int {
	start := off
	for i := len(f.Tokens) - 1; i >= 0; i-- {
		t := f.Tokens[i]
		if t.End > start {
			continue
		}
		// a comment a blank line away is not the function's (the file's
		// head comment, before a function that comes first)
		if gap := string(f.Src[t.End:start]); t.Kind != ast.Comment || strings.TrimSpace(gap) != "" || strings.Count(gap, "\n") > 1 {
			break
		}
		start = t.Off
	}
	return f.Lines.Start(f.Line(start))
}

func lineText(f *ast.File, line int) string {
	s := f.Lines.Start(line)
	e := s
	for e < len(f.Src) && f.Src[e] != '\n' {
		e++
	}
	return string(f.Src[s:e])
}

// renameIn replaces the identifier name in a declaration's text.
func renameIn(text, name, nn string) string {
	var b strings.Builder
	last := 0
	for _, t := range ast.Tokenize([]byte(text)) {
		if t.Kind == ast.Ident && t.Text == name {
			b.WriteString(text[last:t.Off])
			b.WriteString(nn)
			last = t.End
		}
	}
	b.WriteString(text[last:])
	return b.String()
}
