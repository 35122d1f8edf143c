package retype

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
)

// intType is an integer type's width in bytes and signedness (x86-64).
type intType struct {
	size   int
	signed bool
}

// intTypes are the integer type spellings the signedness retype knows.
var intTypes = map[string]intType{
	"s8": {1, true}, "u8": {1, false}, "__s8": {1, true}, "__u8": {1, false}, "signed char": {1, true}, "unsigned char": {1, false},
	"s16": {2, true}, "u16": {2, false}, "__s16": {2, true}, "__u16": {2, false}, "short": {2, true}, "unsigned short": {2, false},
	"s32": {4, true}, "u32": {4, false}, "__s32": {4, true}, "__u32": {4, false}, "int": {4, true}, "unsigned int": {4, false}, "unsigned": {4, false}, "signed int": {4, true},
	"s64": {8, true}, "u64": {8, false}, "__s64": {8, true}, "__u64": {8, false}, "long": {8, true}, "unsigned long": {8, false},
	"long long": {8, true}, "unsigned long long": {8, false},
	// the kernel's size types, as x86-64 (LP64) defines them
	"size_t": {8, false}, "ssize_t": {8, true},
}

// signedness reports whether two member declarations differ only in the
// signedness of an integer type of the same width, and the two types.
func signedness(a, b *ast.Member) (string, string, bool) {
	if strings.Join(a.Array, ",") != strings.Join(b.Array, ",") || a.Bits != "" || b.Bits != "" {
		return "", "", false
	}
	ta, oka := intTypes[strings.Join(strings.Fields(a.Type), " ")]
	tb, okb := intTypes[strings.Join(strings.Fields(b.Type), " ")]
	if !oka || !okb || ta.size != tb.size || ta.signed == tb.signed {
		return "", "", false
	}
	return a.Type, b.Type, true
}

// sameBitsOps are the compound assignments whose stored bits do not
// depend on the signedness of the member they update.
var sameBitsOps = map[string]bool{"+=": true, "-=": true, "&=": true, "|=": true, "^=": true, "<<=": true, "++": true, "--": true}

// retypeSign keeps the old declaration of a member whose integer type only
// changes signedness, and casts every read of it to the new type in the
// files the config builds (found by the compiler, with the member renamed
// in the header).
func retypeSign(p *rewrite.Pass, k *kept, e *rewrite.Entry, from, to string) {
	cur, reverted, u, ok := keptUses(p, e, "keep the member's old type in the header and cast its reads to "+to)
	if !ok {
		return
	}
	edits := map[string][]edit.Edit{}
	reads := 0
	var checks []castCheck // casts inside a macro's argument the compiler must accept
	for _, u := range u.uses {
		if change.IsHeader(u.File) {
			p.RefuseManual(e, fmt.Sprintf("it is read in a header (%s:%d), where a cast would change every includer", u.File, u.Line), "move that header code into the .c files first (or keep the member's old type and cast its reads to "+to+")")
			return
		}
		f := p.Parse(u.File)
		a, err := findAccess(f, u.Line, u.Col)
		if err != nil {
			p.RefuseManual(e, err.Error(), "cast the member's reads to "+to+" by hand")
			return
		}
		// the member itself as a macro's argument: READ_ONCE(),
		// WRITE_ONCE(), smp_store_release() take the member (or its
		// address) and use it as an lvalue, which a cast is not
		if c, ok := macroArg(f, a); ok {
			switch {
			case c.idx == 0 && (onceReads[c.name] && a.Kind == cexpr.Read || acquireReads[c.name] && a.Kind == cexpr.AddrOf && a.Chained == ""):
				// READ_ONCE(obj->m): the macro's result is the read
				if why := castable(c); why != "" {
					p.RefuseManual(e, fmt.Sprintf("%s:%d %s", u.File, u.Line, why), "cast the member's reads to "+to+" by hand")
					return
				}
				edits[u.File] = append(edits[u.File], edit.Edit{File: u.File, Off: c.callOff, End: c.callOff, Text: "(" + to + ")"})
				reads++
				continue
			case c.idx == 0 && (onceWrites[c.name] && a.Kind == cexpr.Read || releaseWrites[c.name] && a.Kind == cexpr.AddrOf && a.Chained == ""):
				// WRITE_ONCE(obj->m, v): a store, of the same bits
				// whatever the signedness
				continue
			case a.Kind == cexpr.Read:
				// a function takes the cast value; a macro (pr_info(),
				// min()) may use its argument as a value too, or as an
				// lvalue: the compiler tells (gcc names no macro for a
				// use spelled in the argument)
				checks = append(checks, castCheck{file: u.File, line: u.Line, macro: c.name})
			}
		} else if a.Kind == cexpr.Read && a.InMacro {
			// in a #define body, whose invocations may use the member as
			// an lvalue
			checks = append(checks, castCheck{file: u.File, line: u.Line, macro: "a macro"})
		}
		switch a.Kind {
		case cexpr.Read:
			edits[u.File] = append(edits[u.File], edit.Edit{File: u.File, Off: a.Full.Off, End: a.Full.Off, Text: "(" + to + ")"})
			reads++
		case cexpr.Assign, cexpr.Designator:
			// the same bits are stored whatever the signedness
		case cexpr.Compound, cexpr.IncDec:
			if !sameBitsOps[a.Op] {
				p.RefuseManual(e, fmt.Sprintf("%s:%d updates it with %s, whose result depends on the signedness", u.File, u.Line, a.Op), "rewrite that update as an assignment from a cast read")
				return
			}
		default:
			p.RefuseManual(e, fmt.Sprintf("%s:%d takes its %s, which has the old type", u.File, u.Line, a.Kind), "change that use by hand")
			return
		}
	}
	if why := checkCasts(p, e, reverted, edits, checks); why != "" {
		p.RefuseManual(e, why, "cast the member's reads to "+to+" by hand, outside the macro (or read it into a local of type "+to+" first)")
		return
	}
	if !k.keep(p, e, cur, reverted) {
		return
	}
	var files2 []string
	for f, es := range edits {
		files2 = append(files2, f)
		for _, ed := range es {
			ed.Why, ed.Hazard = "read as "+to, e.Hazard
			p.Edit(ed)
		}
	}
	sort.Strings(files2)
	p.Resolve(e, fmt.Sprintf("the old declaration (%s) stays: %s has the same size, alignment and offset, and the same bits are stored either way; the %d reads, found by the compiler over the %d files the config builds that use it (%s), read it as %s, so every function whose code the new type changes changes in the livepatch: %s",
		from, to, reads, u.compiled, u.method, to, strings.Join(files2, ", ")))
}

// memberUses is what the compiler found of a retyped member's uses.
type memberUses struct {
	uses     []oracle.Use
	compiled int    // files compiled
	method   string // how the header's includers were found
}

// findUses finds every use of the member, in every file the config builds
// that names it (the patched files as they are now), with the old
// declaration in the header and the member renamed there: each use is a
// "has no member named" error. It returns why not when it cannot.
func findUses(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, old *ast.Member) (*memberUses, string) {
	hu, err := p.Env.HeaderUsers(e.File)
	if err != nil {
		return nil, "its users are not known: " + err.Error()
	}
	cands := hu.Candidates()
	for _, f := range p.CurrentSources() {
		if !slices.Contains(cands, f) {
			cands = append(cands, f)
		}
	}
	u, why := usesIn(p, e, reverted, old, cands)
	if u != nil {
		u.method = hu.Method
	}
	return u, why
}

// MaxUseFiles is how many files usesIn compiles to find a member's uses:
// a common member name ("flags") in a header every driver includes would
// take hours.
const MaxUseFiles = 300

// usesIn compiles the files of cands that name the member, with the old
// declaration in the header and the member renamed there, and returns
// its uses (each a "has no member named" error).
func usesIn(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, old *ast.Member, cands []string) (*memberUses, string) {
	ch := e.Change
	// a file may reach the member through a macro or an inline of the
	// header without naming it: such names count as the member's
	names := append([]string{ch.Member}, reachers(p.Parse(e.File), ch.Member)...)
	nameRE := ast.NamesRE(names)
	var users []string
	for _, f := range cands {
		if nameRE.Match(p.File(f)) {
			users = append(users, f)
		}
	}
	sort.Strings(users)
	if len(users) == 0 {
		return &memberUses{}, ""
	}
	if len(users) > MaxUseFiles {
		return nil, fmt.Sprintf("%d files the config may build include %s and name %s, more than the %d kprewrite compiles to find the member's uses (%s, ...)",
			len(users), e.File, ch.Member, MaxUseFiles, strings.Join(users[:3], ", "))
	}
	compilable, err := p.Compilable(users)
	if err != nil {
		return nil, err.Error()
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, "its uses cannot be found without the compiler: " + err.Error()
	}
	files := p.CurrentFiles()
	files[e.File] = []byte(edit.MustApply(string(reverted), []edit.Edit{edit.Insert(e.File, old.NameAt.End, "__kprewrite_retyped")}))
	res, err := o.MemberUses(p.Context(), files, compilable)
	if err == nil {
		err = oracle.MissingInclude(res.Other)
	}
	if err != nil {
		return nil, "the compiler oracle failed: " + err.Error()
	}
	return &memberUses{uses: res.Of(structKind(ch)+" "+ch.Struct, ch.Member), compiled: len(compilable)}, ""
}

// reachers names the macros and inline functions of a header whose body
// names member: files that use them reach the member.
func reachers(f *ast.File, member string) []string {
	var out []string
	for _, m := range f.Macros {
		if !m.Undef && slices.Contains(macroWords(m.Body), member) {
			out = append(out, m.Name)
		}
	}
	for _, fn := range f.Funcs {
		if fn.IsInline() && fn.Name != "" {
			for _, t := range f.CodeTokens(fn.Body) {
				if t.Text == member {
					out = append(out, fn.Name)
					break
				}
			}
		}
	}
	return out
}

// macroWords splits a macro body into its identifiers.
func macroWords(body string) []string {
	return strings.FieldsFunc(body, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}

// findAccess reads the member access the compiler points at (1-based line
// and byte column).
func findAccess(f *ast.File, line, col int) (*cexpr.Access, error) {
	return cexpr.Find(f, f.Lines.Start(line)+col-1)
}

// onceReads are the macros whose first argument is the member itself,
// read: READ_ONCE(obj->m) reads the member's type, so the cast goes on
// the macro's result.
var onceReads = map[string]bool{"READ_ONCE": true, "__READ_ONCE": true, "READ_ONCE_NOCHECK": true}

// onceWrites are the macros whose first argument is the member itself,
// stored to (WRITE_ONCE(obj->m, v)).
var onceWrites = map[string]bool{"WRITE_ONCE": true, "__WRITE_ONCE": true, "smp_store_mb": true}

// acquireReads are the macros whose first argument is the member's
// address, read (smp_load_acquire(&obj->m)).
var acquireReads = map[string]bool{"smp_load_acquire": true, "__smp_load_acquire": true}

// releaseWrites are the macros whose first argument is the member's
// address, stored to (smp_store_release(&obj->m, v)).
var releaseWrites = map[string]bool{"smp_store_release": true, "__smp_store_release": true}

// call is a call or macro invocation one of whose arguments is a member
// access, all of it.
type call struct {
	name    string
	idx     int // the argument's index
	callOff int // offset of the name
	before  string
	after   string // the tokens around the call: what it is part of
}

// macroArg reports whether the access (with "&" for an address-of, and any
// parentheses around it) is a whole argument of a call NAME(...), and
// which.
func macroArg(f *ast.File, a *cexpr.Access) (call, bool) {
	toks := codeTokens(f, a)
	i := slices.IndexFunc(toks, func(t ast.Token) bool { return t.Off == a.Full.Off })
	j := slices.IndexFunc(toks, func(t ast.Token) bool { return t.End == a.Full.End })
	if i < 0 || j < i {
		return call{}, false
	}
	if a.Kind == cexpr.AddrOf && i > 0 && toks[i-1].Text == "&" {
		i--
	}
	// (obj->m): the parentheses of a primary, not of a call
	for i >= 2 && j+1 < len(toks) && toks[i-1].Text == "(" && toks[j+1].Text == ")" && !callee(toks[i-2]) {
		i, j = i-1, j+1
	}
	if i < 2 || j+1 >= len(toks) || (toks[i-1].Text != "(" && toks[i-1].Text != ",") || (toks[j+1].Text != ")" && toks[j+1].Text != ",") {
		return call{}, false
	}
	// back to the call's '(' over the arguments before it
	idx, k := 0, i-1
	for ; k >= 0; k-- {
		t := toks[k].Text
		switch {
		case t == ")" || t == "]" || t == "}":
			o := ast.MatchBack(toks, k)
			if o < 0 {
				return call{}, false
			}
			k = o
		case t == ",":
			idx++
		case t == "(" || t == "[" || t == "{":
			if t != "(" || k == 0 || !callee(toks[k-1]) || toks[k-1].Kind != ast.Ident {
				return call{}, false
			}
			c := call{name: toks[k-1].Text, idx: idx, callOff: toks[k-1].Off, before: ";"}
			if k >= 2 {
				c.before = toks[k-2].Text
			}
			if e := ast.MatchForward(toks, k); e >= 0 && e+1 < len(toks) {
				c.after = toks[e+1].Text
			}
			return c, true
		}
	}
	return call{}, false
}

// callee reports whether t can end the callee of a call: an identifier
// that is not a keyword, or the ')' or ']' of a callee expression.
func callee(t ast.Token) bool {
	if t.Kind == ast.Ident {
		switch t.Text {
		case "if", "while", "for", "switch", "return", "sizeof", "typeof", "__typeof__", "__typeof", "case", "do", "else":
			return false
		}
		return true
	}
	return t.Text == ")" || t.Text == "]"
}

// castable says why a cast cannot go on the result of the read macro c
// ("" when it can): its result is used as an lvalue or its address taken.
func castable(c call) string {
	switch {
	case c.before == "&" || c.before == "++" || c.before == "--":
		return fmt.Sprintf("applies %s to %s() of it, which a cast to the new type cannot take", c.before, c.name)
	case c.after == "=" || c.after == "++" || c.after == "--" || c.after == "." || c.after == "->" || c.after == "[" ||
		len(c.after) >= 2 && strings.HasSuffix(c.after, "=") && c.after != "==" && c.after != "!=" && c.after != "<=" && c.after != ">=":
		return fmt.Sprintf("uses %s() of it with %s, which a cast to the new type cannot take", c.name, c.after)
	}
	return ""
}

// codeTokens are the tokens the access was found in: its #define's body,
// or the file's code.
func codeTokens(f *ast.File, a *cexpr.Access) []ast.Token {
	var out []ast.Token
	for _, t := range f.Tokens {
		if a.InMacro && t.Kind == ast.Directive && t.Off <= a.Full.Off && a.Full.Off < t.End {
			for _, s := range ast.Tokenize([]byte(t.Text[1:])) {
				if s.Kind == ast.Comment || s.Kind == ast.Directive {
					continue
				}
				s.Off += t.Off + 1
				s.End += t.Off + 1
				out = append(out, s)
			}
			return out
		}
		if !a.InMacro && t.Kind != ast.Comment && t.Kind != ast.Directive {
			out = append(out, t)
		}
	}
	return out
}

// castCheck is a cast read that is a whole argument of a macro: the
// compiler says whether the macro takes it.
type castCheck struct {
	file  string
	line  int
	macro string
}

// checkCasts compiles the files with casts inside a macro's argument, as
// the rewrite leaves them (the header with the old declaration), and says
// why not when gcc rejects one: a macro that takes the member as an lvalue
// (its address, an assignment to it) cannot take the cast.
func checkCasts(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, edits map[string][]edit.Edit, checks []castCheck) string {
	if len(checks) == 0 {
		return ""
	}
	var sources []string
	for f := range edits {
		if slices.ContainsFunc(checks, func(c castCheck) bool { return c.file == f }) {
			sources = append(sources, f)
		}
	}
	sort.Strings(sources)
	ds, why := diagnostics(p, e, reverted, edits, sources)
	if why != "" {
		return "checking the casts inside macro arguments: " + why
	}
	for i, d := range ds {
		if d.Severity != "error" {
			continue
		}
		// the error's line, and the lines of the macro invocations its
		// notes name
		at := []build.Diagnostic{d}
		for k := i + 1; k < len(ds) && ds[k].Severity == "note"; k++ {
			at = append(at, ds[k])
		}
		for _, c := range checks {
			if slices.ContainsFunc(at, func(x build.Diagnostic) bool { return x.File == c.file && x.Line == c.line }) {
				if c.macro == "a macro" {
					return fmt.Sprintf("%s:%d reads it in a macro's body, whose use does not take a cast read (gcc: %s:%d: %s)", c.file, c.line, d.File, d.Line, d.Message)
				}
				return fmt.Sprintf("%s:%d reads it as an argument of %s(), which does not take a cast read (gcc: %s)", c.file, c.line, c.macro, d.Message)
			}
		}
		return fmt.Sprintf("with the casts of the reads that are whole arguments (%s:%d's %s first), %s does not compile (gcc: %s:%d: %s)", checks[0].file, checks[0].line, checks[0].macro, d.File, d.File, d.Line, d.Message)
	}
	return ""
}

// compileEdited compiles sources with their edits, the header as the
// rewrite leaves it (reverted), and returns gcc's first error, or "".
func compileEdited(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, edits map[string][]edit.Edit, sources []string) string {
	ds, why := diagnostics(p, e, reverted, edits, sources)
	if why != "" {
		return why
	}
	for _, d := range ds {
		if d.Severity == "error" {
			return fmt.Sprintf("%s does not compile (gcc: %s:%d: %s)", d.File, d.File, d.Line, d.Message)
		}
	}
	return ""
}

// diagnostics compiles sources with their edits and e's header as
// reverted, and returns gcc's diagnostics, or why the compiler could not
// be asked.
func diagnostics(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, edits map[string][]edit.Edit, sources []string) ([]build.Diagnostic, string) {
	o, err := p.Oracle()
	if err != nil {
		return nil, "the compiler is needed: " + err.Error()
	}
	files := p.CurrentFiles()
	files[e.File] = reverted
	for _, f := range sources {
		out, err := edit.Apply(p.File(f), edits[f])
		if err != nil {
			return nil, err.Error()
		}
		files[f] = out
	}
	ds, err := o.Diagnostics(p.Context(), files, sources)
	if err == nil {
		err = oracle.MissingInclude(ds)
	}
	if err != nil {
		return nil, "the compiler oracle failed: " + err.Error()
	}
	return ds, ""
}
