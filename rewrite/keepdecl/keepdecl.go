// Package keepdecl is the transform for a macro, a declaration (a
// prototype, a typedef, an extern), an inline function or an enum the
// upstream change removes from a header, or a struct or union definition
// it removes from a header or a .c file, or an invocation of a header's
// own generator of static inline functions (defined, invoked and
// #undef'd in the header, as struct device's flag accessors), or an
// #include it removes from a header: it stays where it was.
//
// Before (upstream):	-#define DP_EDP_15			    0x31	/* eDP 1.5 */
//
//	-int gether_attach_gadget(struct net_device *net, struct usb_gadget *g);
//
// After (rewritten):	the header hunk is gone: both stay, unused by the
//
//	patched code.
//
// Code that compiles upstream, without the name, cannot use it, so keeping
// it changes no token of any unit, with two exceptions the transform looks
// for. A directive that asks whether a macro is defined (#ifdef,
// defined(), #if NAME) or defines it again chooses code by it: every
// source file of the tree and the patch's post-images are scanned for one.
// A file of the patch that declares or defines the name anew could
// conflict with the old declaration: its post-image is read. With neither,
// the includers of the header compile as the running kernel's did and the
// patched files as upstream's. Otherwise the finding stays to an engineer,
// who sees where. A kept #include names nothing: the compiler shows that
// upstream's files of the patch compile to the same code with it as
// without it (include.go).
package keepdecl

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Transform is the keepdecl transform.
var Transform = &rewrite.Transform{
	Name: "keepdecl",
	Doc: "a macro, declaration, inline function or enum the upstream change removes from a header, or a struct definition it removes, stays there: code that compiles without it cannot use it; " +
		"a macro only when no directive in the tree asks whether it is defined, a declaration only when no patched file declares the name anew, an #include only when upstream's files of the patch compile to the same code with it",
	Kinds: []hazard.Kind{hazard.HeaderMacro, hazard.HeaderDecl, hazard.HeaderInline, hazard.HeaderEnum, hazard.HeaderOther, hazard.StructLayout},
	Run:   run,
}

// maxShown is how many places a refusal names.
const maxShown = 3

// removal is one removed macro or declaration of a header.
type removal struct {
	entry  *rewrite.Entry
	name   string
	macro  bool
	inline bool        // a static inline function
	enum   *ast.Enum   // an enum (name is its key)
	strct  *ast.Struct // a struct or union definition, of a header or a .c file
	// call is a file-scope invocation of a macro of the same header that
	// generates static inline functions (name is its text); generated
	// are their names
	call      *ast.MacroCall
	generated []string
	body      string     // the generator's body, as the running kernel has it
	undefs    []ast.Span // a macro's #undef lines after its definition
	span      ast.Span   // its definition in the header's pre-image
	// include is the path of a removed #include line (name is the
	// line); proof is what the compiler showed of the patched files
	include string
	proof   string
	lines   map[int]bool // the pre-image lines it comes back with
}

func run(p *rewrite.Pass) error {
	byHeader := map[string][]*removal{}
	var macros []string
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil {
			continue
		}
		if ch.Kind == change.StructRemoved && ch.PreStruct != nil && ch.PreStruct.Parent == nil && ch.PreStruct.Name != "" && e.NeedsHuman() {
			// a type definition compiles to no code: what uses it
			// upstream is gone, so keeping it changes no function
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: ch.Subject, strct: ch.PreStruct})
			continue
		}
		if !change.IsHeader(e.File) {
			continue
		}
		switch {
		case ch.Kind == change.MacroRemoved && e.NeedsHuman():
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: ch.Name, macro: true})
			if !slices.Contains(macros, ch.Name) {
				macros = append(macros, ch.Name)
			}
		case ch.Kind == change.DeclRemoved:
			// an automatic finding header2c left: it moves what is added
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: ch.Name})
		case ch.Kind == change.EnumRemoved && ch.PreEnum != nil && e.NeedsHuman():
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: ch.Name, enum: ch.PreEnum})
		case ch.Kind == change.FuncRemoved && ch.PreFunc != nil && ch.PreFunc.IsInline() && e.NeedsHuman():
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: ch.PreFunc.Name, inline: true})
		case ch.Kind == change.CallRemoved && e.NeedsHuman():
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: ch.Subject, call: &ast.MacroCall{Name: ch.Name}})
		case ch.Kind == change.IncludeRemoved && e.NeedsHuman():
			byHeader[e.File] = append(byHeader[e.File], &removal{entry: e, name: "#include <" + ch.Name + ">", include: ch.Name})
		}
	}
	if len(byHeader) == 0 {
		return nil
	}
	var mentions map[string][]string
	if len(macros) > 0 {
		if p.Env == nil {
			for _, rs := range byHeader {
				for _, r := range rs {
					if r.macro {
						p.Refuse(r.entry, "without the kernel tree nothing shows that no directive asks whether the macro is defined")
					}
				}
			}
			macros = nil
		} else {
			var err error
			if mentions, err = p.Env.DirectiveMentions(macros); err != nil {
				return err // the tree could not be read: no evidence either way
			}
		}
	}
	var macroRE *regexp.Regexp // the macros still asked about, for the post-images
	if len(macros) > 0 {
		macroRE = ast.NamesRE(macros)
	}
	for _, h := range slices.Sorted(maps.Keys(byHeader)) {
		fc := p.ChangeOf(h)
		if fc == nil || fc.Pre == nil {
			continue
		}
		lines := map[int]bool{}
		var kept []*removal
		for _, r := range byHeader[h] {
			if r.macro && !slices.Contains(macros, r.name) {
				continue // refused above
			}
			why := r.locate(fc.Pre)
			if why == "" && r.call != nil {
				if m := p.Parse(h).Macro(r.call.Name); m != nil && m.Body != r.body {
					why = fmt.Sprintf("the patch changes %s too: the invocation, kept, would generate other code than the running kernel's", r.call.Name)
				}
			}
			back := why == "" && r.restores(p, h, fc.Pre, nil) // an earlier transform put it back
			if why == "" && r.strct != nil {
				why = r.madeBefore(p, h)
			}
			if why == "" {
				why = r.conflicts(p, h, back, mentions[r.name], macroRE)
			}
			var own map[int]bool
			if why == "" {
				own = withComment(fc.Pre, r.span)
				for _, u := range r.undefs {
					maps.Copy(own, gen.LinesOf(fc.Pre, u))
				}
				if !r.restores(p, h, fc.Pre, own) {
					// the patch removed the #if around it too: put that back
					maps.Copy(own, enclosing(fc.Pre, fc.Pre.Line(r.span.Off)))
					if !r.restores(p, h, fc.Pre, own) {
						why = fmt.Sprintf("the #if context of %s changes in %s: put back, it would not be under the conditions it had", r.name, h)
					}
				}
			}
			if why != "" {
				p.Refuse(r.entry, why)
				continue
			}
			maps.Copy(lines, own)
			r.lines = own
			kept = append(kept, r)
		}
		kept, err := sameCodeWithIncludes(p, h, kept, lines)
		if err != nil {
			return err
		}
		if len(kept) == 0 {
			continue
		}
		cur := p.File(h)
		back := gen.RestoreLines(p.Original(h), cur, lines)
		for _, ed := range edit.Diff(h, cur, back) {
			ed.Why, ed.Hazard = "removed declaration kept", kept[0].entry.Hazard
			p.Edit(ed)
		}
		for _, r := range kept {
			how := fmt.Sprintf("%s stays declared in %s, as in the running kernel: no file of the patch declares it anew, and code that compiles without it cannot use it", r.name, h)
			if r.enum != nil {
				how = fmt.Sprintf("%s stays in %s, as in the running kernel: no file of the patch declares its tag or constants anew, and code that compiles without it cannot use them", r.entry.Change.Subject, h)
			}
			if r.inline {
				how = fmt.Sprintf("the inline %s stays in %s, as in the running kernel: no file of the patch defines it anew, and code that compiles without it cannot call it (an inline no unit calls compiles to nothing)", r.name, h)
			}
			if r.macro {
				how = fmt.Sprintf("%s stays defined in %s, as in the running kernel: no directive in the tree asks whether it is defined, and code that compiles without it cannot use it", r.name, h)
			}
			if r.call != nil {
				how = fmt.Sprintf("%s stays in %s, as in the running kernel: it defines only the static inline functions %s, which no file of the patch defines anew and code that compiles without them cannot call (an inline no unit calls compiles to nothing)", r.name, h, strings.Join(r.generated, ", "))
			}
			if r.strct != nil {
				how = fmt.Sprintf("the definition of %s stays in %s, as in the running kernel: the running kernel's code names it nowhere outside it (no object of it exists), no file of the patch defines the tag anew, and a type compiles to no code", r.name, h)
			}
			if r.include != "" {
				how = fmt.Sprintf("%s stays in %s, as in the running kernel: its includers outside the patch compile as the running kernel's, and %s", r.name, h, r.proof)
			}
			p.Resolve(r.entry, how)
		}
	}
	return nil
}

// locate finds the removed definition in the header's pre-image; it says
// why not when there is not exactly one.
func (r *removal) locate(pre *ast.File) string {
	if r.enum != nil {
		r.span = ast.Span{Off: r.enum.Span.Off, End: ast.StatementEnd(pre, r.enum.Span.End)}
		return ""
	}
	if r.call != nil {
		return r.locateCall(pre)
	}
	if r.include != "" {
		var spans []ast.Span
		for _, inc := range pre.Includes {
			if inc.Path == r.include {
				spans = append(spans, inc.Span)
			}
		}
		if len(spans) != 1 {
			return fmt.Sprintf("%s is in the header %d times: which one a unit sees depends on its #if context", r.name, len(spans))
		}
		r.span = spans[0]
		return ""
	}
	if r.strct != nil {
		end, alone := definitionEnd(pre, r.strct.Span.End)
		r.span = ast.Span{Off: r.strct.Span.Off, End: end}
		before := pre.Src[ast.LineStart(pre.Src, r.span.Off):r.span.Off]
		if strings.TrimSpace(string(before)) != "" || !alone {
			return fmt.Sprintf("the definition of %s is part of a declaration (a typedef or a variable): it cannot come back alone", r.name)
		}
		return ""
	}
	var spans []ast.Span
	switch {
	case r.macro:
		for _, m := range pre.Macros {
			if m.Name != r.name {
				continue
			}
			if m.Undef {
				if len(spans) > 0 {
					r.undefs = append(r.undefs, m.Span) // it goes back too
				}
				continue
			}
			spans = append(spans, m.Span)
		}
	case !r.inline:
		for _, d := range pre.Decls {
			if d.Name == r.name {
				spans = append(spans, d.Span)
			}
		}
	}
	spans = append(spans, funcSpans(pre, r.name)...)
	if len(spans) != 1 {
		return fmt.Sprintf("%s has %d definitions or declarations in the header: which one a unit sees depends on its #if context", r.name, len(spans))
	}
	r.span = spans[0]
	return ""
}

func funcSpans(f *ast.File, name string) []ast.Span {
	var out []ast.Span
	for _, fn := range f.Definitions(name) {
		out = append(out, fn.Span)
	}
	return out
}

// madeBefore says where the running kernel's code names the removed
// struct outside its definition ("" when nowhere): there it may have made
// objects of it and stored them where the patched code now reads
// something else (a driver's drvdata), which keeping the type does not
// settle. Only the patch's files can name it: upstream's code, which
// compiles without the definition, does not.
func (r *removal) madeBefore(p *rewrite.Pass, h string) string {
	re := regexp.MustCompile(`\b` + r.strct.Kind + `\s+` + regexp.QuoteMeta(r.strct.Name) + `\b`)
	var where []string
	for _, f := range slices.Sorted(maps.Keys(p.Current)) {
		fc := p.ChangeOf(f)
		if !r.reaches(h, f) || fc == nil || fc.Pre == nil {
			continue
		}
		pf := fc.Pre
		for _, m := range re.FindAllIndex(pf.Src, -1) {
			if (f == h && m[0] >= r.span.Off && m[0] < r.span.End) || inComment(pf, m[0]) {
				continue
			}
			where = append(where, fmt.Sprintf("%s:%d", f, pf.Line(m[0])))
		}
	}
	if len(where) == 0 {
		return ""
	}
	return fmt.Sprintf("the running kernel's code uses %s (%s): objects of it may exist where upstream's code stores or reads something else; check what the patched code reads there, then keep the definition", r.name, shown(where))
}

// reaches reports whether the removed item of h can matter to file f:
// always, but for a struct of a .c file, which is that file's own.
func (r *removal) reaches(h, f string) bool {
	return r.strct == nil || change.IsHeader(h) || f == h
}

// definitionEnd returns the end of the statement whose struct body ends
// at brace (after its ';'), and whether nothing but attributes (__packed,
// __aligned(8), __attribute__((...))) stands between the brace and the
// ';': no declarator, so the statement defines the type alone.
func definitionEnd(f *ast.File, brace int) (int, bool) {
	depth := 0
	for _, t := range f.CodeTokens(ast.Span{Off: brace, End: len(f.Src)}) {
		switch {
		case t.Is("("):
			depth++
		case t.Is(")"):
			depth--
		case depth > 0:
		case t.Is(";"):
			return t.End, true
		case t.Kind == ast.Ident && strings.HasPrefix(t.Text, "__"):
		default:
			return t.End, false
		}
	}
	return len(f.Src), false
}

func callText(c *ast.MacroCall) string { return c.Name + "(" + strings.Join(c.Args, ", ") + ")" }

// locateCall finds the removed invocation in the header's pre-image and
// what it generates: the macro must be defined once in the same header,
// and its expansion with the invocation's arguments must define static
// inline functions only (a generator of accessors, as struct device's
// __create_dev_flag_accessors()): anything else (data, a prototype, a
// type, another invocation) could change what an includer compiles.
func (r *removal) locateCall(pre *ast.File) string {
	var calls []*ast.MacroCall
	for _, c := range pre.Calls {
		if callText(c) == r.name {
			calls = append(calls, c)
		}
	}
	if len(calls) != 1 {
		return fmt.Sprintf("%s is invoked %d times in the header: which one a unit sees depends on its #if context", r.name, len(calls))
	}
	r.call, r.span = calls[0], calls[0].Span
	var defs []*ast.Macro
	for _, m := range pre.Macros {
		if m.Name == r.call.Name && !m.Undef {
			defs = append(defs, m)
		}
	}
	if len(defs) != 1 || !defs[0].FuncLike || len(defs[0].Params) != len(r.call.Args) {
		return fmt.Sprintf("%s is not defined once in the header with %d parameters: what the invocation generates is not known", r.call.Name, len(r.call.Args))
	}
	r.body = defs[0].Body
	text, ok := expand(defs[0], r.call.Args)
	if !ok {
		return fmt.Sprintf("%s's body starts with '#': what the invocation generates is not read", r.call.Name)
	}
	// the invocation's own ';' ends what the body leaves open (a last
	// "static const char x[] = ..." is data)
	gen := ast.Parse("expansion.h", []byte(text+";"))
	if len(gen.Funcs) == 0 || len(gen.Vars) > 0 || len(gen.Decls) > 0 || len(gen.Structs) > 0 || len(gen.Enums) > 0 || len(gen.Calls) > 0 {
		return fmt.Sprintf("%s generates more than static inline functions: keeping it could change what an includer compiles", r.name)
	}
	// nothing but the functions: a name between them could be a macro
	// that expands to data
	for _, t := range gen.CodeTokens(ast.Span{Off: 0, End: len(gen.Src)}) {
		if !t.Is(";") && !slices.ContainsFunc(gen.Funcs, func(fn *ast.Func) bool { return t.Off >= fn.Span.Off && t.End <= fn.Span.End }) {
			return fmt.Sprintf("%s generates %q outside its functions: keeping it could change what an includer compiles", r.name, t.Text)
		}
	}
	for _, fn := range gen.Funcs {
		if !fn.IsInline() || !fn.Has("static") {
			return fmt.Sprintf("%s generates %s, which is not static inline: keeping it would define it in every includer", r.name, fn.Name)
		}
		r.generated = append(r.generated, fn.Name)
	}
	return ""
}

// expand returns the replacement text of m with args for its parameters
// (ast.Expand); ok is false for a body that starts with '#', which
// ast.Expand would read as a directive.
func expand(m *ast.Macro, args []string) (string, bool) {
	if strings.HasPrefix(strings.TrimSpace(m.Body), "#") {
		return "", false
	}
	return ast.Expand(m, args), true
}

// withComment returns the lines of span in f with those of the comment
// right above it (its kernel-doc) and the blank line after it: put back
// where the patch deleted them, the item comes back whole. (Lines the
// patch keeps are not put back twice: only deleted lines are restored.)
func withComment(f *ast.File, span ast.Span) map[int]bool {
	lines := gen.LinesOf(f, span)
	first, last := f.Line(span.Off), f.Line(max(span.Off, span.End-1))
	for i := len(f.Tokens) - 1; i >= 0; i-- {
		t := f.Tokens[i]
		if t.Off >= span.Off {
			continue
		}
		alone := strings.TrimSpace(string(f.Src[ast.LineStart(f.Src, t.Off):t.Off])) == ""
		if t.Kind == ast.Comment && alone && f.Line(max(t.Off, t.End-1)) == first-1 {
			maps.Copy(lines, gen.LinesOf(f, ast.Span{Off: t.Off, End: t.End}))
		}
		break
	}
	if end := ast.LineEnd(f.Src, span.End); end < len(f.Src) && f.Src[end] == '\n' {
		lines[last+1] = true
	}
	return lines
}

func inComment(f *ast.File, off int) bool {
	i, _ := slices.BinarySearchFunc(f.Tokens, off, func(t ast.Token, off int) int { return t.End - 1 - off })
	return i < len(f.Tokens) && f.Tokens[i].Kind == ast.Comment && f.Tokens[i].Off <= off
}

// conflicts says what could choose other code, or clash, if the name
// stays: a directive naming the macro in the tree (files the patch does
// not change) or in a post-image, or a post-image that declares or
// defines the name anew (the header h itself only when its definition is
// not the original one again: back). "" when nothing does.
func (r *removal) conflicts(p *rewrite.Pass, h string, back bool, inTree []string, macroRE *regexp.Regexp) string {
	if r.include != "" {
		return "" // the compiler judges (sameCodeWithIncludes)
	}
	var where []string
	if r.macro {
		for _, w := range inTree {
			file, _, _ := strings.Cut(w, ":")
			if _, patched := p.Current[file]; !patched {
				where = append(where, w) // a patched file's post-image is what counts
			}
		}
		for _, f := range slices.Sorted(maps.Keys(p.Current)) {
			for _, m := range kbuild.DirectiveLines(p.File(f), macroRE) {
				if m.Name == r.name {
					where = append(where, fmt.Sprintf("%s:%d", f, m.Line))
				}
			}
		}
		if len(where) > 0 {
			return fmt.Sprintf("a directive asks whether %s is defined or defines it (%s): keeping it defined would choose other code there", r.name, shown(where))
		}
		return ""
	}
	names, tag := []string{r.name}, ""
	if r.call != nil {
		names = r.generated
	}
	if r.strct != nil {
		names, tag = nil, r.strct.Name
	}
	if r.enum != nil {
		names, tag = nil, r.enum.Name // its constants are ordinary identifiers, its tag is a tag
		for _, v := range r.enum.Values {
			names = append(names, v.Name)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(p.Current)) {
		if f == h && back {
			continue // the header has its original definition again
		}
		if !r.reaches(h, f) {
			continue
		}
		pf := p.Parse(f)
		if slices.ContainsFunc(names, func(n string) bool { return declares(pf, n) }) || (tag != "" && tags(pf, tag)) {
			where = append(where, f)
		}
	}
	if len(where) > 0 {
		what := r.name
		if r.call != nil {
			what = fmt.Sprintf("a function %s generates (%s)", r.name, strings.Join(r.generated, ", "))
		}
		return fmt.Sprintf("%s declares or defines %s anew (a function, a declaration, a variable or a macro of that name): the old one, kept, could clash with it", shown(where), what)
	}
	return ""
}

// declares reports whether f declares or defines the ordinary identifier
// name at file scope: a function, a declaration, a variable, a macro or
// an enum constant.
func declares(f *ast.File, name string) bool {
	if len(funcSpans(f, name)) > 0 || f.Macro(name) != nil ||
		slices.ContainsFunc(f.Decls, func(d *ast.Decl) bool { return d.Name == name }) ||
		slices.ContainsFunc(f.Vars, func(v *ast.Var) bool { return v.Name == name }) {
		return true
	}
	return slices.ContainsFunc(f.Enums, func(en *ast.Enum) bool {
		return slices.ContainsFunc(en.Values, func(v ast.Enumerator) bool { return v.Name == name })
	})
}

// tags reports whether f defines a struct, union or enum tagged tag (tags
// are a name space of their own: a function may share the name).
func tags(f *ast.File, tag string) bool {
	return slices.ContainsFunc(f.Enums, func(en *ast.Enum) bool { return en.Name == tag }) ||
		slices.ContainsFunc(f.Structs, func(s *ast.Struct) bool { return s.Name == tag })
}

func shown(where []string) string {
	if len(where) > maxShown {
		where = append(slices.Clone(where[:maxShown]), fmt.Sprintf("%d more", len(where)-maxShown))
	}
	return strings.Join(where, ", ")
}

// restores reports whether putting back the pre-image lines own into the
// header's current text (none: the text as it is) gives the removed item its original text under
// its original #if conditions.
func (r *removal) restores(p *rewrite.Pass, h string, pre *ast.File, own map[int]bool) bool {
	back := p.Parse(h) // no lines: whether the header already has it back
	if len(own) > 0 {
		back = ast.Parse(h, gen.RestoreLines(p.Original(h), p.File(h), own))
	}
	var spans []ast.Span
	switch {
	case r.include != "":
		for _, inc := range back.Includes {
			if inc.Path == r.include {
				spans = append(spans, inc.Span)
			}
		}
	case r.call != nil:
		for _, c := range back.Calls {
			if callText(c) == r.name {
				spans = append(spans, c.Span)
			}
		}
	case r.strct != nil:
		for _, st := range back.Structs {
			if st.Parent == nil && st.Kind == r.strct.Kind && st.Name == r.strct.Name {
				end, _ := definitionEnd(back, st.Span.End)
				spans = append(spans, ast.Span{Off: st.Span.Off, End: end})
			}
		}
	case r.enum != nil:
		for _, en := range back.Enums {
			if text := back.Text(ast.Span{Off: en.Span.Off, End: ast.StatementEnd(back, en.Span.End)}); text == pre.Text(r.span) {
				spans = append(spans, ast.Span{Off: en.Span.Off, End: ast.StatementEnd(back, en.Span.End)})
			}
		}
	case r.macro:
		if m := back.Macro(r.name); m != nil {
			spans = append(spans, m.Span)
		}
	case r.inline:
		spans = funcSpans(back, r.name)
	default:
		for _, d := range back.Decls {
			if d.Name == r.name {
				spans = append(spans, d.Span)
			}
		}
	}
	return len(spans) == 1 && back.Text(spans[0]) == pre.Text(r.span) && back.CondAt(spans[0].Off).String() == pre.CondAt(r.span.Off).String()
}

// enclosing returns the lines of the conditional directives (#if...,
// #elif, #else, #endif) of every group around line in f, the include
// guard's excepted. The directives are f's Directive tokens: a '#' in a
// comment or a continued line is no directive.
func enclosing(f *ast.File, line int) map[int]bool {
	type group struct{ lines []int }
	var stack, around []*group
	seen := false
	for _, t := range f.Tokens {
		if !seen && f.Line(t.Off) >= line {
			around, seen = slices.Clone(stack), true
		}
		if t.Kind != ast.Directive {
			continue
		}
		word := strings.Fields(strings.TrimLeft(t.Text[1:], " \t") + " ")
		if len(word) == 0 {
			continue
		}
		n := f.Line(t.Off)
		switch word[0] {
		case "if", "ifdef", "ifndef":
			if word[0] == "ifndef" && len(word) > 1 && word[1] == f.Guard && len(stack) == 0 {
				stack = append(stack, &group{}) // the include guard stays as it is
				continue
			}
			stack = append(stack, &group{lines: []int{n}})
		case "elif", "else", "elifdef", "elifndef":
			if len(stack) > 0 && len(stack[len(stack)-1].lines) > 0 {
				stack[len(stack)-1].lines = append(stack[len(stack)-1].lines, n)
			}
		case "endif":
			if len(stack) == 0 {
				continue
			}
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(g.lines) > 0 {
				g.lines = append(g.lines, n)
			}
		}
	}
	out := map[int]bool{}
	for _, g := range around {
		for _, n := range g.lines {
			out[n] = true
		}
	}
	return out
}
