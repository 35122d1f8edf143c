package retype

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
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
	cur, reverted, old, ok := oldDeclaration(p, e)
	if !ok {
		return
	}
	if old == nil {
		p.RefuseManual(e, "the member's lines hold other changes too", "keep the member's old type in the header and cast its reads to "+to)
		return
	}
	u, why := findUses(p, e, reverted, old)
	if why != "" {
		p.RefuseManual(e, why, "keep the member's old type in the header and cast its reads to "+to)
		return
	}
	edits := map[string][]edit.Edit{}
	reads := 0
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

// usesIn compiles the files of cands that name the member, with the old
// declaration in the header and the member renamed there, and returns
// its uses (each a "has no member named" error).
func usesIn(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, old *ast.Member, cands []string) (*memberUses, string) {
	ch := e.Change
	// a file may reach the member through a macro or an inline of the
	// header without naming it: such names count as the member's
	names := append([]string{ch.Member}, reachers(p.Parse(e.File), ch.Member)...)
	var users []string
	for _, f := range cands {
		text := string(p.File(f))
		for _, n := range names {
			if strings.Contains(text, n) {
				users = append(users, f)
				break
			}
		}
	}
	sort.Strings(users)
	if len(users) == 0 {
		return &memberUses{}, ""
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
