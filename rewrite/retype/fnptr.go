package retype

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// fnptrType is the type of a function-pointer member without its name,
// for a cast: "int (*)(struct net *net)" for "int (*migrate)(struct net
// *net)"; "" when the member is no function pointer.
func fnptrType(m *ast.Member) string {
	if m.Name == "" || len(m.Array) > 0 || m.Bits != "" {
		return ""
	}
	loc := declaratorOf(m.Name).FindStringIndex(m.Type)
	if loc == nil || !strings.HasPrefix(strings.TrimLeft(m.Type[loc[1]:], " \t"), "(") {
		return ""
	}
	return m.Type[:loc[0]] + "(*)" + m.Type[loc[1]:]
}

// retypeFnptr keeps the old declaration of a function-pointer member whose
// signature upstream changes. Every implementation and every call changes
// with it upstream (a mismatch would not compile), so all of them are in
// the patch: the patched calls go through a cast to the new signature (a
// typedef of it in each calling file),
// and the patched implementations are stored through a (void *) cast. In
// the running kernel the pointers in existing objects keep naming the
// original implementations, which the livepatch replaces: a task runs
// either the old caller with the old implementations or the new ones.
//
//   - ret = km->migrate(sel, dir, type, m, num_migrate, k, encap);
//   - ret = ((xfrm_mgr_migrate_lp_t)km->migrate)(sel, ..., net, encap);
//   - .migrate	= xfrm_send_migrate,
//   - .migrate	= (void *)xfrm_send_migrate,
func retypeFnptr(p *rewrite.Pass, k *kept, e *rewrite.Entry, newType string) {
	what := "keep the member's old type; call it through a cast to the new signature and store the new implementations through (void *)"
	cur, reverted, u, ok := keptUses(p, e, what)
	if !ok {
		return
	}
	// the calls cast to a typedef of the new signature, one per file
	tname := p.UniqueName(e.Change.Struct + "_" + e.Change.Member + "_lp_t")
	typedef := gen.Comment("", gen.Wrap(fmt.Sprintf("%s: the signature upstream gives %s %s.%s (%s), whose declaration the header keeps.",
		gen.Banner, structKind(e.Change), e.Change.Struct, e.Change.Member, e.File), 75)...) +
		"typedef " + typedefText(p, e, tname) + "\n"
	callFiles := map[string]bool{}
	var edits []edit.Edit
	calls, stores, tests := 0, 0, 0
	outside := ""
	kept := map[string]bool{} // functions stored by code the patch does not change
	storeFiles, stored := map[string]bool{}, map[string]bool{}
	for _, use := range u.uses {
		if change.IsHeader(use.File) && p.RevertedLine(use.File, use.Line) {
			// the original of header code upstream changes, which another
			// transform (header2c) moved into every user: no code calls it
			continue
		}
		if change.IsHeader(use.File) && nullTest(p.Parse(use.File), use.Line, use.Col) {
			tests++ // the same bits under either type, in every includer
			continue
		}
		if change.IsHeader(use.File) {
			p.RefuseManual(e, fmt.Sprintf("it is used in a header (%s:%d), where a cast would change every includer", use.File, use.Line),
				"move that header code into the .c files first")
			return
		}
		if _, ok := p.Current[use.File]; !ok {
			if nullTest(p.Parse(use.File), use.Line, use.Col) {
				tests++ // "!ops->m": the same bits under either type
				continue
			}
			if fn := storedFunc(p.Parse(use.File), use.Line, use.Col, e.Change.Member); fn != "" && changesAlike(p, e, fn) {
				// ".m = fn" where fn keeps its name and old prototype
				// with upstream's body (rename, a finding of its own)
				kept[fn] = true
				continue
			}
			p.RefuseManual(e, fmt.Sprintf("%s:%d, which the patch does not change, uses it: code of the running kernel would call or store it with the other signature", use.File, use.Line), what)
			return
		}
		f := p.Parse(use.File)
		off := f.Lines.Start(use.Line) + use.Col - 1
		if v, ok := designatedValue(f, off, e.Change.Member); ok {
			edits = append(edits, edit.Insert(use.File, v, "(void *)"))
			stores++
			storeFiles[use.File] = true
			stored[identAt(f, v)] = true
			continue
		}
		a, err := findAccess(f, use.Line, use.Col)
		if err != nil {
			p.RefuseManual(e, err.Error(), what)
			return
		}
		next := nextToken(f, a.Member.End)
		switch {
		case next == "(":
			for _, ed := range gen.CastCallee(f.Src, a.Full.Off, a.Member.End, tname) {
				ed.File = use.File
				edits = append(edits, ed)
			}
			callFiles[use.File] = true
			calls++
		case a.Kind == cexpr.Assign || a.Kind == cexpr.Designator:
			edits = append(edits, edit.Insert(use.File, a.Value.Off, "(void *)"))
			stores++
			storeFiles[use.File] = true
			stored[identAt(f, a.Value.Off)] = true
		case a.Kind == cexpr.Read:
			// a test or copy of the pointer: the same bits either way
		default:
			p.RefuseManual(e, fmt.Sprintf("%s:%d takes its %s", use.File, use.Line, a.Kind), what)
			return
		}
	}
	if gone := goneImplementations(p, e.Change.Member, storeFiles, stored); len(gone) > 0 {
		p.RefuseManual(e, fmt.Sprintf("objects of the running kernel point to %s, which the patch removes or no longer stores in the member: the livepatch would not replace %s, and the patched calls would call %s with the new signature",
			strings.Join(gone, ", "), them(len(gone)), them(len(gone))),
			fmt.Sprintf("keep %s under its old name with the new signature (so the livepatch replaces it), or keep the old signature", strings.Join(gone, ", ")))
		return
	}
	if !k.keep(p, e, cur, reverted) {
		return
	}
	if len(kept) > 0 {
		names := slices.Sorted(maps.Keys(kept))
		outside += fmt.Sprintf("; the running kernel's data stores %s in it: under that name the livepatch has upstream's code, which takes the new arguments under the old prototype (rename)",
			strings.Join(names, ", "))
	}
	for f := range callFiles {
		pf := p.Parse(f)
		at := gen.InsertionPoint(pf)
		edits = append(edits, edit.Insert(f, at, gen.Styled(f, gen.InsertText(pf.Src, at, typedef))))
	}
	files := map[string]bool{}
	for _, ed := range edits {
		ed.Why, ed.Hazard = "new signature through a cast", e.Hazard
		p.Edit(ed)
		files[ed.File] = true
	}
	fl := slices.Sorted(maps.Keys(files))
	if tests > 0 {
		outside += fmt.Sprintf("; %d tests for NULL in headers or outside the patch stay as they are (the same bits under either type)", tests)
	}
	p.Resolve(e, fmt.Sprintf("the old declaration stays (a pointer either way); the %d calls go through a cast to the new signature and the %d implementations stored in it through (void *), all in the patch (found by the compiler over the %d files the config builds that name it: %s)%s; existing objects keep pointing to the original implementations, which the livepatch replaces",
		calls, stores, u.compiled, strings.Join(fl, ", "), outside))
}

// storedFunc is the function a use of the member stores, where gcc points
// at (line, col): ".member = fn" in an initializer or "x->member = fn";
// "" for any other use.
func storedFunc(f *ast.File, line, col int, member string) string {
	off := f.Lines.Start(line) + col - 1
	if v, ok := designatedValue(f, off, member); ok {
		return identAt(f, v)
	}
	a, err := findAccess(f, line, col)
	if err != nil || a.Kind != cexpr.Assign || a.Chained != "" || a.InMacro {
		return ""
	}
	return identAt(f, a.Value.Off)
}

// changesAlike reports whether fn is a function whose prototype the patch
// changes as it changes the member's signature, pointer parameters for
// pointer parameters: the running kernel's data that stores fn in the
// member then reaches, after the livepatch loads, a function of fn's name
// that takes the new arguments (rename keeps fn in place under its old
// prototype with upstream's body; when it cannot, its finding refuses the
// patch).
func changesAlike(p *rewrite.Pass, e *rewrite.Entry, fn string) bool {
	x := p.PrototypeChange(fn)
	return x != nil && x.ResolvedBy == "" && change.RetypedAlike(p.ChangeOf(x.File), x.Change, e.Change)
}

// nullTest reports whether the member use gcc points at (line, col) only
// tests the pointer: "!ops->m", "if (ops->m)", "ops->m != NULL", an operand
// of && or ||. Such code compiles to the same instructions whatever the
// pointer's signature, so a file the patch does not change may keep it.
func nullTest(f *ast.File, line, col int) bool {
	a, err := findAccess(f, line, col)
	if err != nil || a.Kind != cexpr.Read || a.Chained != "" || a.InMacro || nextToken(f, a.Member.End) == "(" {
		return false
	}
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	lo := sort.Search(len(toks), func(i int) bool { return toks[i].Off >= a.Full.Off })
	hi := sort.Search(len(toks), func(i int) bool { return toks[i].End > a.Full.End }) - 1
	if lo >= len(toks) || hi < lo {
		return false
	}
	_, ok := cexpr.Truth(toks, lo, hi)
	return ok
}

// goneImplementations lists the functions the running kernel stores in the
// member (".member = fn" or "->member = fn" in the base text of the files
// that store it, fn a function of the patch's base files) that the patched
// code no longer stores in it: removed or renamed upstream, or kept with
// the old signature. Existing objects keep pointing to them, and the
// livepatch replaces only the implementations it stores, so a patched call
// through the new signature would reach one of the running kernel's.
func goneImplementations(p *rewrite.Pass, member string, files map[string]bool, stored map[string]bool) []string {
	re := regexp.MustCompile(`(?:\.|->)\s*` + regexp.QuoteMeta(member) + `\s*=\s*&?\s*([A-Za-z_]\w*)\b`)
	// functions of the patch's base files: a stored name that is none of
	// them is not an implementation (another struct's member of that name)
	funcs := map[string]bool{}
	for _, file := range p.CurrentSources() {
		if orig := p.Original(file); orig != nil {
			for _, fn := range ast.Parse(file, orig).Funcs {
				funcs[fn.Name] = true
			}
		}
	}
	var gone []string
	for _, file := range slices.Sorted(maps.Keys(files)) {
		for _, m := range re.FindAllSubmatch(p.Original(file), -1) {
			name := string(m[1])
			if !stored[name] && funcs[name] && !slices.Contains(gone, name) {
				gone = append(gone, name)
			}
		}
	}
	return gone
}

// identAt is the identifier at off, or "" ("&fn" counts as fn).
func identAt(f *ast.File, off int) string {
	for _, t := range f.Tokens[tokenAt(f, off):] {
		switch {
		case t.Kind == ast.Comment || t.Text == "&" || t.Text == "(":
			continue
		case t.Kind == ast.Ident:
			return t.Text
		}
		return ""
	}
	return ""
}

// them is "it" or "them".
func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// designatedValue reports whether off points at a designated initializer
// ".member = value" and where its value starts.
func designatedValue(f *ast.File, off int, member string) (int, bool) {
	toks := f.Tokens
	j := tokenAt(f, off)
	if j >= len(toks) {
		return 0, false
	}
	// off is at the '.' or at the member name
	if toks[j].Kind == ast.Ident && j > 0 && toks[j-1].Text == "." {
		j--
	}
	if toks[j].Text != "." || j+3 >= len(toks) || toks[j+1].Text != member || toks[j+2].Text != "=" {
		return 0, false
	}
	k := j - 1
	for k >= 0 && toks[k].Kind == ast.Comment {
		k--
	}
	if k < 0 || (toks[k].Text != "{" && toks[k].Text != ",") {
		return 0, false
	}
	v := j + 3
	for v < len(toks) && toks[v].Kind == ast.Comment {
		v++
	}
	if v >= len(toks) || toks[v].Kind != ast.Ident {
		return 0, false
	}
	return toks[v].Off, true
}

// tokenAt is the index of the first token at or after off.
func tokenAt(f *ast.File, off int) int {
	return sort.Search(len(f.Tokens), func(i int) bool { return f.Tokens[i].Off >= off })
}

// nextToken is the text of the first code token at or after off.
func nextToken(f *ast.File, off int) string {
	for _, t := range f.Tokens[tokenAt(f, off):] {
		if t.Kind != ast.Comment {
			return t.Text
		}
	}
	return ""
}

// structKind is "struct" or "union" for the changed member's aggregate.
func structKind(ch *change.Change) string {
	if ch.PreStruct != nil && ch.PreStruct.Kind == "union" {
		return "union"
	}
	return "struct"
}

// typedefText is the member's new declaration, as upstream wrote it (its
// line breaks kept, continuation lines indented by one tab), declaring
// name instead of the member.
func typedefText(p *rewrite.Pass, e *rewrite.Entry, name string) string {
	m := e.Change.PostMember
	text := strings.Replace(m.Type, "(*"+m.Name+")", "(*"+name+")", 1) + ";"
	if fc := p.ChangeOf(e.File); fc != nil && fc.Post != nil {
		decl := fc.Post.Text(m.Decl)
		if loc := declaratorOf(m.Name).FindStringIndex(decl); loc != nil {
			lines := strings.Split(decl[:loc[0]]+"(*"+name+")"+decl[loc[1]:], "\n")
			for i := 1; i < len(lines); i++ {
				lines[i] = "\t" + strings.TrimLeft(lines[i], " \t")
			}
			text = strings.Join(lines, "\n")
		}
	}
	return text
}

// declaratorOf matches a function pointer's declarator "(*name)".
func declaratorOf(name string) *regexp.Regexp {
	return regexp.MustCompile(`\(\s*\*\s*` + regexp.QuoteMeta(name) + `\s*\)`)
}
