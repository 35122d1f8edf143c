// Package header2c is the transform that moves header changes into the .c
// files that use them. Livepatching replaces functions, not headers: a
// changed static inline or macro is really a change to every function that
// uses it, in every object that includes the header.
//
// Before (include/net/bonding.h):
//
//	static inline void bond_commit_link_state(struct slave *slave, bool notify)
//	{ ...new body... }
//
// After: the header is as it was, and each .c file that uses the function
// (or a header inline or macro that uses it) gets the new definition under
// a new name, with its uses switched to it:
//
//	static inline void bond_commit_link_state_lp(struct slave *slave, bool notify)
//	{ ...new body... }
//	...
//	bond_commit_link_state_lp(slave, notify);
//
// Users are found with the compiler: the definitions are renamed in an
// overlay copy of the header and the candidate files (includers that the
// config builds and that name something in play) are compiled; every
// "implicit declaration" or "undeclared" error is a use, and uses inside
// other header inlines or macros pull those into the set as well.
package header2c

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/lpname"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Transform is the header-to-.c transform.
var Transform = &rewrite.Transform{
	Name:  "header2c",
	Doc:   "changed inline functions and macros in headers move into the .c files that use them, under new names; new header helpers move to their users",
	Kinds: []hazard.Kind{hazard.HeaderInline, hazard.HeaderMacro, hazard.HeaderDecl, hazard.HeaderOther},
	Run:   run,
}

// Suffix is appended to the name of a moved definition (lpname.Suffix,
// which verify shares).
const Suffix = lpname.Suffix

type kind int

const (
	kFunc kind = iota
	kMacro
	kDecl
	kStruct
	kInclude
	kCall // a new file-scope cleanup generator (DEFINE_FREE) that uses moved code
)

// item is one definition that moves into the users.
type item struct {
	kind   kind
	name   string
	header string
	added  bool       // new in the patch: keeps its name
	seed   bool       // changed or added by the patch (as opposed to pulled in)
	text   string     // its post-image text
	pre    *ast.Macro // a changed macro as the running kernel has it
	post   *ast.Macro // and as the patch leaves it
	// constants are a new enum's: its users name them, not its tag
	constants []string
	entries   []*rewrite.Entry
}

type state struct {
	p       *rewrite.Pass
	items   []*item
	byName  map[string]*item
	headers map[string]bool
	rename  map[string]string // old name -> new name
	// fileScope are the uses of the moved code outside functions and
	// macros (static initializers): "file:line (name)"
	fileScope []string
	pending   []edit.Edit // the edits, proposed once the users compile with them
}

// edit holds an edit back until check has compiled the users with it.
func (st *state) edit(e edit.Edit) { st.pending = append(st.pending, e) }

func run(p *rewrite.Pass) error {
	st := &state{p: p, byName: map[string]*item{}, headers: map[string]bool{}, rename: map[string]string{}}
	st.seeds()
	if len(st.items) == 0 {
		return nil
	}
	st.closeTextually()
	if why := st.pastedDefinitions(); why != "" {
		st.refuseAllManual(why, "move the functions the macro generates into the .c files that call them, under new names, and patch those callers")
		return nil
	}
	users, method, err := st.users()
	if err != nil {
		st.refuseAll(err.Error())
		return nil
	}
	if max := p.Options.MaxUsers; max > 0 && len(users) > max {
		st.refuseAll(fmt.Sprintf("the change reaches %d .c files, more than --max-users %d: %s", len(users), max, strings.Join(users, ", ")))
		return nil
	}
	for _, it := range st.items {
		if !it.added && it.kind != kInclude {
			st.rename[it.name] = p.UniqueName(lpname.For(it.name))
		}
	}
	// A new #include moves to the patched .c files that include the header:
	// the code that needed it (moved here, or rewritten by later transforms)
	// lives there.
	if st.onlyIncludes() || st.hasIncludes() {
		for _, f := range p.CurrentSources() {
			if slices.Contains(users, f) {
				continue
			}
			for h := range st.headers {
				if p.IncludesHeader(f, h) {
					users = append(users, f)
					break
				}
			}
		}
		sort.Strings(users)
	}
	if why := st.heldConstants(users); why != "" {
		st.refuseAllManual(why, "keep the old values of the constants the running kernel's objects hold (give new flags or states new values), or convert the objects' values in a pre-patch callback")
		return nil
	}
	radius := map[string][]string{} // file -> functions that change
	for _, u := range users {
		radius[u] = st.editUser(u, st.userBlock(u, users))
	}
	if fns := p.Untraceable(radius); len(fns) > 0 {
		st.refuseAllManual(fmt.Sprintf("the code that changes is compiled into %s, which ftrace cannot redirect (noinstr or notrace): no livepatch can replace it", strings.Join(fns, ", ")),
			"leave this change out of the livepatch, or change the callers ftrace can redirect instead (a noinstr function of the entry path has none)")
		return nil
	}
	if len(st.fileScope) > 0 {
		st.refuseAllManual(fmt.Sprintf("the code that changes is used at file scope, in data: %s: the running kernel's data keeps the old value (a livepatch replaces functions, not data)", strings.Join(st.fileScope, ", ")),
			"keep the data as it is and change the functions that read it, or set the new value in a post-patch callback")
		return nil
	}
	reverted := st.revertHeaders()
	if why := st.check(users); why != "" {
		st.refuseAll(why)
		return nil
	}
	for _, e := range st.pending {
		p.Edit(e)
	}
	st.keptRemovals(reverted)
	// Resolve and report.
	var names []string
	for _, it := range st.items {
		if it.seed && it.kind != kInclude {
			names = append(names, it.name)
		}
	}
	var radiusText []string
	objs := map[string]bool{}
	for _, u := range users {
		o := p.Env.ObjectOf(u).Name()
		objs[o] = true
		fns := radius[u]
		if len(fns) == 0 {
			fns = []string{"(definitions only)"}
		}
		radiusText = append(radiusText, fmt.Sprintf("%s [%s]: %s", u, o, strings.Join(fns, ", ")))
	}
	var objList []string
	for o := range objs {
		objList = append(objList, o)
	}
	sort.Strings(objList)
	for _, it := range st.items {
		for _, e := range it.entries {
			how := "moved into the .c files that use it"
			if nn, ok := st.rename[it.name]; ok {
				how = fmt.Sprintf("moved into the .c files that use it as %s", nn)
			}
			if it.kind == kInclude {
				how = "moved into the patched .c files that include the header"
			}
			if len(users) == 0 {
				p.Resolve(e, "no file the config builds uses it: the header change is dropped")
				continue
			}
			p.Resolve(e, fmt.Sprintf("%s; %d files in %s", how, len(users), strings.Join(objList, ", ")))
		}
	}
	var pulled []string
	for _, it := range st.items {
		if !it.seed {
			pulled = append(pulled, it.name)
		}
	}
	if len(names) == 0 {
		for _, it := range st.items {
			names = append(names, it.name)
		}
	}
	if len(radiusText) == 0 {
		radiusText = []string{"no file the config builds"}
	}
	reason := fmt.Sprintf("blast radius of %s: %s (users found by %s)", strings.Join(names, ", "), strings.Join(radiusText, "; "), method)
	if len(pulled) > 0 {
		reason += fmt.Sprintf("; copied with them because they use what changed: %s", strings.Join(pulled, ", "))
	}
	file := ""
	for h := range st.headers {
		if file == "" || h < file {
			file = h
		}
	}
	p.Note(rewrite.Finding{File: file, Line: 1, Subject: strings.Join(names, ", "), Reason: reason})
	return nil
}

// pastedDefinitions says why a changed macro that defines code under
// token-pasted names (JBD2_FEATURE_INCOMPAT_FUNCS defines
// jbd2_has_feature_##name() for each feature) cannot be moved: the code
// that uses what it generates names jbd2_has_feature_csum3(), never the
// macro, so neither the text nor the compiler's renaming of the macro
// finds those users. "" when no such macro changes.
func (st *state) pastedDefinitions() string {
	for _, it := range st.items {
		if !it.seed || it.kind != kMacro || !strings.Contains(it.text, "##") || !strings.Contains(it.text, "{") {
			continue
		}
		return fmt.Sprintf("the macro %s defines code under token-pasted names (##): its users call the generated names, never the macro, so kprewrite cannot find them and would drop the change", it.name)
	}
	return ""
}

// heldConstants says why a changed constant macro cannot move: its value
// changes (HID_CLAIMED_HIDRAW BIT(2) -> BIT(3)) and a user combines it with
// an object's state (hdev->claimed & HID_CLAIMED_HIDRAW, x->state =
// STATE_X, case STATE_X:): the running kernel's objects hold flags and
// states with the old values, which the moved code would read with the
// new ones, as enumeration constants (the enums transform's rule). ""
// when no such use is found.
func (st *state) heldConstants(users []string) string {
	for _, it := range st.items {
		if !it.seed || it.kind != kMacro || it.pre == nil || it.pre.FuncLike {
			continue
		}
		post := it.post
		if post.FuncLike || sameConstant(it.pre.Body, post.Body) {
			continue
		}
		stored, compared := "", ""
		for _, u := range users {
			f := st.p.Parse(u)
			if where := stateUse(f, it.name); where > 0 {
				return fmt.Sprintf("the value of %s changes (%s -> %s), and %s:%d combines it with an object's state: objects of the running kernel hold the old value", it.name, strings.TrimSpace(it.pre.Body), strings.TrimSpace(post.Body), u, where)
			}
			if where := memberStore(f, it.name); where > 0 && stored == "" {
				stored = fmt.Sprintf("%s:%d", u, where)
			}
			if where := comparison(f, it.name); where > 0 && compared == "" {
				compared = fmt.Sprintf("%s:%d", u, where)
			}
		}
		// stored in an object here, compared there (with a value that
		// came through a local or a parameter): the same state
		if stored != "" && compared != "" {
			return fmt.Sprintf("the value of %s changes (%s -> %s): %s stores it in an object and %s compares it: objects of the running kernel hold the old value", it.name, strings.TrimSpace(it.pre.Body), strings.TrimSpace(post.Body), stored, compared)
		}
	}
	return ""
}

// memberStore returns the line of an assignment of the constant name to a
// struct member ("d->state = NAME;"), or 0.
func memberStore(f *ast.File, name string) int {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i, t := range toks {
		if t.Kind != ast.Ident || t.Text != name || i < 2 || toks[i-1].Text != "=" || i+1 < len(toks) && toks[i+1].Text != ";" {
			continue
		}
		for lo := i - 2; lo >= 0 && !strings.Contains(";{}", toks[lo].Text); lo-- {
			if toks[lo].Text == "->" || toks[lo].Text == "." {
				return f.Line(t.Off)
			}
		}
	}
	return 0
}

// comparison returns the line of a comparison of a value with the
// constant name ("==", "!=", "case NAME"), or 0.
func comparison(f *ast.File, name string) int {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i, t := range toks {
		if t.Kind != ast.Ident || t.Text != name {
			continue
		}
		if i > 0 && (toks[i-1].Text == "case" || toks[i-1].Text == "==" || toks[i-1].Text == "!=") || i+1 < len(toks) && (toks[i+1].Text == "==" || toks[i+1].Text == "!=") {
			return f.Line(t.Off)
		}
	}
	return 0
}

// sameConstant reports whether two macro bodies are the same text (spaces
// and outer parentheses aside) or the same integer (BIT(n), 1 << n, hex).
func sameConstant(a, b string) bool {
	va, oka := constantValue(a)
	vb, okb := constantValue(b)
	if oka && okb {
		return va == vb
	}
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

var (
	bitRE   = regexp.MustCompile(`^(?:BIT|BIT_ULL)\((\d+)\)$`)
	shiftRE = regexp.MustCompile(`^(\w+?)[uUlL]*\s*<<\s*(\d+)$`)
)

// constantValue evaluates a macro body that is an integer constant: a
// number (decimal, hex, octal, with suffixes), BIT(n) or "1 << n", in
// parentheses or not.
func constantValue(body string) (uint64, bool) {
	b := strings.TrimSpace(body)
	for strings.HasPrefix(b, "(") && strings.HasSuffix(b, ")") {
		b = strings.TrimSpace(b[1 : len(b)-1])
	}
	if m := bitRE.FindStringSubmatch(b); m != nil {
		n, err := strconv.ParseUint(m[1], 10, 6)
		return 1 << n, err == nil
	}
	if m := shiftRE.FindStringSubmatch(b); m != nil {
		v, ok := constantValue(m[1])
		n, err := strconv.ParseUint(m[2], 10, 6)
		return v << n, ok && err == nil
	}
	v, err := strconv.ParseUint(strings.TrimRight(b, "uUlL"), 0, 64)
	return v, err == nil
}

// stateOps are the operators that test or set a constant in a value held
// in an object (a flag word, a state); a plain assignment is not one: an
// object given a limit keeps the old one, and new objects get the new.
var stateOps = map[string]bool{"&": true, "|": true, "^": true, "==": true, "!=": true, "|=": true, "&=": true, "^=": true, "~": true}

// stateUse returns the line of a use of the constant name in f next to a
// flag or comparison operator in a statement that reaches a struct member
// ("->" or "."), or after "case"; 0 when there is none.
func stateUse(f *ast.File, name string) int {
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i, t := range toks {
		if t.Kind != ast.Ident || t.Text != name {
			continue
		}
		if i > 0 && toks[i-1].Text == "case" {
			return f.Line(t.Off)
		}
		if !(i > 0 && stateOps[toks[i-1].Text] || i+1 < len(toks) && stateOps[toks[i+1].Text]) {
			continue
		}
		// the statement around it: back and forth to ";", "{" or "}"
		lo, hi := i, i
		for lo > 0 && !strings.Contains(";{}", toks[lo-1].Text) {
			lo--
		}
		for hi+1 < len(toks) && !strings.Contains(";{}", toks[hi+1].Text) {
			hi++
		}
		for _, x := range toks[lo : hi+1] {
			if x.Text == "->" || x.Text == "." {
				return f.Line(t.Off)
			}
		}
	}
	return 0
}

func (st *state) hasIncludes() bool {
	for _, it := range st.items {
		if it.kind == kInclude {
			return true
		}
	}
	return false
}

func (st *state) onlyIncludes() bool {
	for _, it := range st.items {
		if it.kind != kInclude {
			return false
		}
	}
	return true
}

// refuseAllManual refuses every item's entries with what the engineer does.
func (st *state) refuseAllManual(why, what string) {
	for _, it := range st.items {
		for _, e := range it.entries {
			st.p.RefuseManual(e, why, what)
		}
	}
}

func (st *state) refuseAll(why string) {
	for _, it := range st.items {
		for _, e := range it.entries {
			st.p.Refuse(e, why)
		}
	}
}

func (st *state) add(it *item, e *rewrite.Entry) {
	if old, ok := st.byName[it.name]; ok {
		if e != nil {
			old.entries = append(old.entries, e)
		}
		return
	}
	if e != nil {
		it.entries = append(it.entries, e)
	}
	st.items = append(st.items, it)
	st.byName[it.name] = it
	st.headers[it.header] = true
}

// definitionSpan is the span of the definition of name to move: the
// only one, or of twins under #if the one the config compiles; false (the
// entry refused) when the config does not single one out.
func (st *state) definitionSpan(e *rewrite.Entry, f *ast.File, name string, only ast.Span) (ast.Span, bool) {
	span, n := activeDefinition(st.p, f, name)
	switch {
	case n > 1 && span == nil:
		st.p.RefuseManual(e, fmt.Sprintf("%s is defined %d times in %s, under #if conditions the config does not single one out", name, n, e.File),
			"move the definition the config compiles into the .c files that use it")
		return ast.Span{}, false
	case n > 1:
		return *span, true
	}
	return only, true
}

// activeDefinition returns, for a name f defines more than once (twins
// under #ifdef/#else), the span of the one definition whose condition the
// config makes true, nil when it does not single one out; and how many
// definitions there are (#define lines and function bodies).
func activeDefinition(p *rewrite.Pass, f *ast.File, name string) (*ast.Span, int) {
	type def struct {
		span ast.Span
		cond ast.Cond
	}
	var defs []def
	for _, m := range f.Macros {
		if m.Name == name && !m.Undef {
			defs = append(defs, def{m.Span, m.Cond})
		}
	}
	for _, fn := range f.Funcs {
		if fn.Name == name && fn.Body.End > fn.Body.Off {
			defs = append(defs, def{fn.Span, fn.Cond})
		}
	}
	if len(defs) < 2 || p.Env == nil || p.Env.Config == nil {
		return nil, len(defs)
	}
	var active *ast.Span
	for i, d := range defs {
		switch p.Env.Config.EvalCond(d.cond) {
		case kbuild.True:
			if active != nil {
				return nil, len(defs)
			}
			active = &defs[i].span
		case kbuild.TriUnknown:
			return nil, len(defs)
		}
	}
	return active, len(defs)
}

// seeds turns the header hazards into items.
func (st *state) seeds() {
	p := st.p
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || !change.IsHeader(e.File) {
			continue
		}
		cur := p.Parse(e.File)
		switch {
		case e.Kind == hazard.HeaderInline && (ch.Kind == change.FuncChanged || ch.Kind == change.FuncAdded):
			fn := cur.Func(ch.Func)
			if fn == nil {
				continue
			}
			span, ok := st.definitionSpan(e, cur, ch.Func, fn.Span)
			if !ok {
				continue
			}
			st.add(&item{kind: kFunc, name: fn.Name, header: e.File, added: ch.Kind == change.FuncAdded, seed: true, text: cur.Text(span)}, e)
		case e.Kind == hazard.HeaderMacro && (ch.Kind == change.MacroChanged || ch.Kind == change.MacroAdded):
			m := cur.Macro(ch.Name)
			if m == nil {
				continue
			}
			span, ok := st.definitionSpan(e, cur, ch.Name, m.Span)
			if !ok {
				continue
			}
			it := &item{kind: kMacro, name: m.Name, header: e.File, added: ch.Kind == change.MacroAdded, seed: true, text: cur.Text(span)}
			if ch.Kind == change.MacroChanged {
				it.pre, it.post = ast.Parse(e.File, p.Original(e.File)).Macro(ch.Name), m
			}
			st.add(it, e)
		case e.Kind == hazard.HeaderDecl && ch.Kind == change.DeclAdded:
			for _, d := range cur.Decls {
				if d.Name == ch.Name {
					st.add(&item{kind: kDecl, name: d.Name, header: e.File, added: true, seed: true, text: cur.Text(d.Span)}, e)
					break
				}
			}
		case e.Kind == hazard.HeaderDecl && ch.Kind == change.VarAdded && ch.PostVar != nil && ch.PostVar.Extern:
			st.add(&item{kind: kDecl, name: ch.Name, header: e.File, added: true, seed: true, text: cur.Text(ch.PostVar.Span)}, e)
		case e.Kind == hazard.HeaderDecl && ch.Kind == change.EnumAdded && ch.PostEnum != nil:
			for _, en := range cur.Enums {
				if en.Name == ch.PostEnum.Name && en.Name != "" {
					it := &item{kind: kStruct, name: "enum " + en.Name, header: e.File, added: true, seed: true, text: cur.Text(ast.Span{Off: en.Span.Off, End: ast.StatementEnd(cur, en.Span.End)})}
					st.add(it, e)
					// its users name the constants, not the tag: the
					// compiler finds them by the constants, poisoned
					for _, v := range en.Values {
						it.constants = append(it.constants, v.Name)
						if _, ok := st.byName[v.Name]; !ok {
							st.byName[v.Name] = it
						}
					}
					break
				}
			}
		case e.Kind == hazard.HeaderDecl && ch.Kind == change.StructAdded:
			if s := cur.Struct(ch.Struct); s != nil {
				st.add(&item{kind: kStruct, name: "struct " + s.Name, header: e.File, added: true, seed: true, text: cur.Text(ast.Span{Off: s.Span.Off, End: ast.StatementEnd(cur, s.Span.End)})}, e)
			}
		case e.Kind == hazard.HeaderOther && ch.Kind == change.IncludeAdded:
			for _, inc := range cur.Includes {
				if inc.Path == ch.Name {
					st.add(&item{kind: kInclude, name: "#include " + inc.Path, header: e.File, added: true, seed: true, text: strings.TrimSpace(cur.Text(inc.Span))}, e)
				}
			}
		}
	}
	// A new DEFINE_FREE (or another cleanup.h generator) of a header whose
	// new code moves out must move with it: its static inline calls that
	// code, which the header no longer declares.
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.CallAdded || e.Kind != hazard.HeaderOther || !st.headers[e.File] {
			continue
		}
		cur := p.Parse(e.File)
		for _, c := range cur.Calls {
			if c.Name+"("+strings.Join(c.Args, ", ")+")" != ch.Subject || !st.names(ast.Tokenize([]byte(ch.Subject))) {
				continue
			}
			name := c.Name
			if len(c.Args) > 0 {
				name += "(" + c.Args[0] + ")"
			}
			st.add(&item{kind: kCall, name: name, header: e.File, added: true, seed: true, text: cur.Text(c.Span)}, e)
			break
		}
	}
}

// movesCall reports whether the file-scope macro call text of header is
// an item that moves (a new DEFINE_FREE that calls moved code).
func (st *state) movesCall(header, text string) bool {
	for _, it := range st.items {
		if it.kind == kCall && it.header == header && it.text == text {
			return true
		}
	}
	return false
}

// cleanupUseRE are the ways code uses a cleanup.h helper by its name.
var cleanupUseRE = regexp.MustCompile(`^(__free|guard|scoped_guard|scoped_cond_guard|CLASS|no_free_ptr|retain_and_null_ptr)$`)

// usesCleanup reports whether the file uses a cleanup helper that moves
// (a kCall item): __free(NAME), guard(NAME), CLASS(NAME, ...).
func (st *state) usesCleanup(rel string) bool {
	helpers := st.cleanupHelpers()
	return len(helpers) > 0 && usesCleanupIn(ast.Tokenize(st.p.File(rel)), helpers)
}

// cleanupHelpers returns the names of the cleanup helpers that move (the
// first argument of each kCall item).
func (st *state) cleanupHelpers() map[string]bool {
	helpers := map[string]bool{}
	for _, it := range st.items {
		if it.kind == kCall {
			if _, arg, ok := strings.Cut(strings.TrimSuffix(it.name, ")"), "("); ok {
				helpers[arg] = true
			}
		}
	}
	return helpers
}

// usesCleanupIn reports whether the tokens use one of the helpers.
func usesCleanupIn(toks []ast.Token, helpers map[string]bool) bool {
	for i := 0; i+2 < len(toks); i++ {
		if cleanupUseRE.MatchString(toks[i].Text) && toks[i+1].Text == "(" && helpers[toks[i+2].Text] {
			return true
		}
	}
	return false
}

// names reports whether the tokens name any item that moves, old or new.
func (st *state) names(toks []ast.Token) bool {
	for _, t := range toks {
		if it, ok := st.byName[t.Text]; ok && t.Kind == ast.Ident && it.kind != kInclude {
			return true
		}
	}
	return false
}

// renamable reports whether uses of the item's name must switch to a copy.
func (st *state) renamable(name string) bool {
	it, ok := st.byName[name]
	return ok && !it.added && it.kind != kInclude
}

// closeTextually adds the inline functions and macros of the involved
// headers that use a renamed item, until nothing changes.
func (st *state) closeTextually() {
	for changed := true; changed; {
		changed = false
		for h := range st.headers {
			f := st.p.Parse(h)
			for _, fn := range f.Funcs {
				if _, ok := st.byName[fn.Name]; ok || !fn.IsInline() {
					continue
				}
				if st.mentions(f.CodeTokens(fn.Body)) {
					st.add(&item{kind: kFunc, name: fn.Name, header: h, text: f.Text(fn.Span)}, nil)
					changed = true
				}
			}
			for _, m := range f.Macros {
				if _, ok := st.byName[m.Name]; ok || m.Undef || m.Name == f.Guard {
					continue
				}
				if st.mentions(macroBody(m)) {
					st.add(&item{kind: kMacro, name: m.Name, header: h, text: f.Text(m.Span)}, nil)
					changed = true
				}
			}
		}
	}
}

func macroBody(m *ast.Macro) []ast.Token { return ast.Tokenize([]byte(m.Body)) }

func (st *state) mentions(toks []ast.Token) bool {
	for i, t := range toks {
		if t.Kind == ast.Ident && st.renamable(t.Text) && !(i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".")) {
			return true
		}
	}
	return false
}

// users finds the .c files that use an item, with the compiler when it can.
func (st *state) users() ([]string, string, error) {
	p := st.p
	cands := map[string]bool{}
	notBuilt := map[string]bool{}
	for h := range st.headers {
		hu, err := p.Env.HeaderUsers(h)
		if err != nil {
			return nil, "", err
		}
		for _, u := range hu.NotBuilt {
			notBuilt[u] = true
		}
		for _, u := range hu.Candidates() {
			cands[u] = true
		}
	}
	for _, f := range p.CurrentSources() {
		cands[f] = true
	}
	// Assembler sources that name an item get the old code: no C compile
	// shows them, and the move cannot reach them.
	g, err := p.Env.IncludeGraph()
	if err != nil {
		return nil, "", err
	}
	for h := range st.headers {
		for _, f := range g.AsmIncluders(h) {
			if p.Env.ObjectOf(f).Kind != kbuild.NotBuilt && st.namesAny(f) {
				return nil, "", fmt.Errorf("the assembler source %s, which the config builds, uses it through %s: the move cannot reach it", f, h)
			}
		}
	}
	// Fast textual pre-filter: the file must name an item, or include a
	// header that names one and includes a changed header (an inline of
	// that header uses it: its callers change without naming it).
	// relays are the inline functions and macros of those headers whose
	// bodies name an item: a file that names a relay uses the item
	relays := map[string]bool{}
	for h := range st.headers {
		for _, r := range g.HeaderIncluders(h) {
			if st.headers[r] || !st.mentionsAny(p.File(r)) {
				continue
			}
			rf := p.Parse(r)
			for _, fn := range rf.Funcs {
				if st.namesAnyIn(rf.CodeTokens(fn.Body)) {
					relays[fn.Name] = true
				}
			}
			for _, m := range rf.Macros {
				if !m.Undef && st.namesAnyIn(ast.Tokenize([]byte(m.Body))) {
					relays[m.Name] = true
				}
			}
		}
	}
	var list []string
	for c := range cands {
		if st.namesAny(c) || len(relays) > 0 && ast.NamesAny(ast.Tokenize(p.File(c)), relays) {
			list = append(list, c)
		}
	}
	sort.Strings(list)
	if !p.HasCompiler() {
		return list, "a textual search of all includers (no .config: files the config would not build may be included)", nil
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, "", err
	}
	// Only files that compile in the base tree are asked: a compile
	// failure is no evidence of a use, nor of its absence.
	sc := &screen{env: p.Env, done: map[string]bool{}, out: map[string]bool{}}
	if list, err = sc.filter(list); err != nil {
		return nil, "", err
	}
	defer func() {
		if text := sc.notHere.NotBuiltHereText(); text != "" {
			p.Note(rewrite.Finding{File: st.firstHeader(), Line: 1, Subject: "files left out of the blast radius", Reason: text})
		}
	}()
	users := map[string]bool{}
	for round := 0; round < 6; round++ {
		files := p.CurrentFiles()
		names := map[string]bool{}
		for h := range st.headers {
			files[h] = st.poisoned(h, names)
		}
		idents, other, err := o.IdentUses(p.Context(), files, list, names)
		if err != nil {
			return nil, "", err
		}
		if err := oracle.MissingInclude(other); err != nil {
			return nil, "", err
		}
		grew := false
		for _, id := range idents {
			if !change.IsHeader(id.File) {
				users[id.File] = true
				continue
			}
			// A use inside a header definition: that definition moves too.
			f := p.Parse(id.File)
			off := f.Lines.Start(id.Line) + id.Col - 1
			inDef := false
			if fn := f.FuncAt(off); fn != nil && fn.IsInline() {
				inDef = true
				if _, ok := st.byName[fn.Name]; !ok {
					st.add(&item{kind: kFunc, name: fn.Name, header: id.File, text: f.Text(fn.Span)}, nil)
					grew = true
				}
			}
			for _, m := range f.Macros {
				if m.Span.Contains(off) {
					inDef = true
					if _, ok := st.byName[m.Name]; !ok {
						st.add(&item{kind: kMacro, name: m.Name, header: id.File, text: f.Text(m.Span)}, nil)
						grew = true
					}
				}
			}
			for _, c := range f.Calls {
				// a cleanup generator that moves (kCall): its inlines go too
				if c.Span.Contains(off) && st.movesCall(id.File, f.Text(c.Span)) {
					inDef = true
				}
			}
			if !inDef {
				// a struct, a declaration or data of the header: what every
				// includer sees changes (a layout, a type), and gcc, having
				// declared the name there, hides every later use
				return nil, "", fmt.Errorf("%s:%d uses %s outside an inline function or macro (a struct member, a declaration or data of the header): the change reaches what every includer sees, not only code; keep the header's definition as it is for it and give the code that needs the new one its own name", id.File, id.Line, id.Name)
			}
		}
		if !grew {
			break
		}
		// widen the candidates with the new names
		list = list[:0]
		for c := range cands {
			if st.namesAny(c) {
				list = append(list, c)
			}
		}
		sort.Strings(list)
		if list, err = sc.filter(list); err != nil {
			return nil, "", err
		}
	}
	// gcc reports an implicit declaration once per translation unit: in a
	// unit of several .c files (kernel/sched/build_policy.c #includes rt.c,
	// then deadline.c) a use in one hides the uses in the files read after
	// it. Every candidate of a unit in which a file uses an item is a user.
	if p.Env != nil {
		usedIn := map[string]bool{}
		for u := range users {
			usedIn[p.Env.Unit(u)] = true
		}
		for _, c := range list {
			if unit := p.Env.Unit(c); unit != c && usedIn[unit] {
				users[c] = true
			}
		}
	}
	// gcc names no identifier for a cleanup helper it cannot find ("cleanup
	// argument not a function"): the users of a moved DEFINE_FREE are the
	// screened files that write __free(NAME) (guard(NAME), CLASS(NAME, ...)
	// for the class generators)
	for _, c := range list {
		if st.usesCleanup(c) {
			users[c] = true
		}
	}
	// a macro named only in a conditional directive ("#if RING_LIMIT >
	// 100") makes no error when poisoned (an unknown identifier there is
	// 0): the screened files that name one there use it too
	for _, c := range list {
		if st.inDirective(c) {
			users[c] = true
		}
	}
	// a macro expanded at file scope, in a static initializer
	// ("drop_reasons[] = { DEFINE_DROP_REASON(FN, FN) }" in skbuff.c),
	// makes gcc say "initializer element is not constant" when poisoned,
	// naming no identifier: the screened files that name one there use it
	// too (and editUser refuses the data change)
	for _, c := range list {
		if st.namesMacroAtFileScope(c) {
			users[c] = true
		}
	}
	var out []string
	for u := range users {
		out = append(out, u)
	}
	sort.Strings(out)
	method := "the compiler (definitions renamed in an overlay header, every includer the config builds that names them compiled)"
	if len(notBuilt) > 0 {
		var nb []string
		for f := range notBuilt {
			if st.namesAny(f) {
				nb = append(nb, f)
			}
		}
		sort.Strings(nb)
		if len(nb) > 0 {
			method += "; not built under this config and left alone: " + strings.Join(nb, ", ")
		}
	}
	return out, method, nil
}

// screen keeps the files that compile in the base tree (kbuild.Env.Screen),
// checking each file once.
type screen struct {
	env     *kbuild.Env
	done    map[string]bool // screened
	out     map[string]bool // left out: not built here
	notHere kbuild.Screened // accumulated NotBuiltHere
}

// filter returns the files of list that compile in the base tree; a file
// the config builds that does not compile is an error.
func (sc *screen) filter(list []string) ([]string, error) {
	var todo []string
	for _, f := range list {
		if !sc.done[f] {
			todo = append(todo, f)
		}
	}
	s, err := sc.env.Screen(todo)
	if err != nil {
		return nil, err
	}
	if err := s.BrokenError(sc.env); err != nil {
		return nil, err
	}
	for _, f := range todo {
		sc.done[f] = true
	}
	for _, nc := range s.NotBuiltHere {
		sc.out[nc.File] = true
		sc.notHere.NotBuiltHere = append(sc.notHere.NotBuiltHere, nc)
	}
	var kept []string
	for _, f := range list {
		if !sc.out[f] {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// firstHeader returns the first header involved, in name order.
func (st *state) firstHeader() string {
	file := ""
	for h := range st.headers {
		if file == "" || h < file {
			file = h
		}
	}
	return file
}

// mentionsAny is namesAny's quick first look: the bytes of an item's name
// appear somewhere in src.
func (st *state) mentionsAny(src []byte) bool {
	for name := range st.byName {
		if bytes.Contains(src, []byte(strings.TrimPrefix(name, "struct "))) {
			return true
		}
	}
	return len(st.cleanupHelpers()) > 0
}

// namesAnyIn reports whether toks name an item.
func (st *state) namesAnyIn(toks []ast.Token) bool {
	for _, t := range toks {
		if _, ok := st.byName[t.Text]; ok && t.Kind == ast.Ident {
			return true
		}
	}
	return false
}

func (st *state) namesAny(rel string) bool {
	toks := ast.Tokenize(st.p.File(rel))
	if helpers := st.cleanupHelpers(); len(helpers) > 0 && usesCleanupIn(toks, helpers) {
		return true
	}
	for _, t := range toks {
		if t.Kind == ast.Ident {
			if _, ok := st.byName[t.Text]; ok {
				return true
			}
		}
		if t.Kind == ast.Directive {
			for _, s := range ast.Tokenize([]byte(t.Text[1:])) {
				if _, ok := st.byName[s.Text]; ok && s.Kind == ast.Ident {
					return true
				}
			}
		}
	}
	return false
}

// inDirective reports whether rel names an item in a conditional
// directive (#if, #elif, #ifdef, #ifndef).
func (st *state) inDirective(rel string) bool {
	for _, t := range ast.Tokenize(st.p.File(rel)) {
		if t.Kind != ast.Directive {
			continue
		}
		ws := ast.Tokenize([]byte(t.Text[1:]))
		if len(ws) == 0 || !strings.HasPrefix(ws[0].Text, "if") && ws[0].Text != "elif" {
			continue
		}
		for _, s := range ws[1:] {
			if _, ok := st.byName[s.Text]; ok && s.Kind == ast.Ident {
				return true
			}
		}
	}
	return false
}

// namesMacroAtFileScope reports whether rel names a moved macro outside
// every function and directive (in data or a declaration).
func (st *state) namesMacroAtFileScope(rel string) bool {
	f := st.p.Parse(rel)
	for _, t := range f.Tokens {
		if it, ok := st.byName[t.Text]; ok && it.kind == kMacro && t.Kind == ast.Ident && f.FuncAt(t.Off) == nil && !inDirectiveAt(f, t.Off) {
			return true
		}
	}
	return false
}

// poisoned returns the current header with every item's definition
// renamed, so each use becomes a compiler error; names collects the names.
func (st *state) poisoned(h string, names map[string]bool) []byte {
	f := st.p.Parse(h)
	src := f.Src
	var eds []edit.Edit
	for _, it := range st.items {
		if it.header == h && it.kind == kStruct && len(it.constants) > 0 {
			// a new enum: its constants, where the enum defines them
			for _, en := range f.Enums {
				if "enum "+en.Name != it.name {
					continue
				}
				for _, v := range en.Values {
					names[v.Name] = true
					eds = append(eds, moved(v.Span.Off+len(v.Name)))
				}
			}
			continue
		}
		if it.header != h || (it.kind != kFunc && it.kind != kMacro && it.kind != kDecl) {
			continue
		}
		names[it.name] = true
		switch it.kind {
		case kDecl:
			// a new prototype or extern declaration: rename it where it stands
			if i := strings.Index(string(src), it.text); i >= 0 {
				for _, t := range ast.Tokenize([]byte(it.text)) {
					if t.Kind == ast.Ident && t.Text == it.name {
						eds = append(eds, moved(i+t.End))
						break
					}
				}
			}
		case kFunc:
			// every definition: the one the config compiles may be in an
			// #else branch, after one it does not
			for _, fn := range f.Definitions(it.name) {
				for _, t := range f.CodeTokens(fn.Header) {
					if t.Kind == ast.Ident && t.Text == it.name {
						eds = append(eds, moved(t.End))
						break
					}
				}
				// the body moves too: its calls of other moved names must
				// not be the first that gcc reports (an implicit
				// declaration is reported once per file), hiding the uses
				// in the .c file after it
				eds = append(eds, edit.Edit{Off: fn.Body.Off, End: fn.Body.End, Text: "{ }"})
			}
		case kMacro:
			for _, m := range f.Macros {
				if m.Name == it.name && !m.Undef {
					i := strings.Index(string(src[m.Span.Off:m.Span.End]), m.Name)
					if i >= 0 {
						eds = append(eds, moved(m.Span.Off+i+len(m.Name)))
					}
				}
			}
		}
	}
	// a name found twice (a declaration that is also a prototype) is
	// poisoned once
	eds = slices.CompactFunc(sortedEdits(eds), func(a, b edit.Edit) bool { return a.Off == b.Off })
	return []byte(edit.MustApply(string(src), eds))
}

// moved is the edit that poisons the name ending at off.
func moved(off int) edit.Edit {
	return edit.Edit{Off: off, End: off, Text: "__kprewrite_moved", Why: "poison a moved name"}
}

func sortedEdits(es []edit.Edit) []edit.Edit {
	edit.Sort(es)
	return es
}

// renameEdits returns the edits that rename identifiers of text (member
// names after '->' or '.' are left alone), inside #define lines too, and
// keep argument lists aligned after a renamed name.
func (st *state) renameEdits(text []byte) []edit.Edit {
	var out []edit.Edit
	var walk func(toks []ast.Token, base int)
	walk = func(toks []ast.Token, base int) {
		for i, t := range toks {
			switch t.Kind {
			case ast.Ident:
				nn, ok := st.rename[t.Text]
				if !ok || i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".") {
					continue
				}
				out = append(out, edit.Edit{Off: base + t.Off, End: base + t.End, Text: nn, Why: "use of moved header code"})
				if i+1 < len(toks) && toks[i+1].Text == "(" {
					out = append(out, gen.Realign(text, base+toks[i+1].Off, len(nn)-len(t.Text))...)
				}
			case ast.Directive:
				name, _ := ast.DirectiveName(t)
				if name == "define" || name == "undef" || name == "if" || name == "ifdef" || name == "ifndef" || name == "elif" {
					walk(ast.Tokenize([]byte(t.Text[1:])), base+t.Off+1)
				}
			}
		}
	}
	walk(ast.Tokenize(text), 0)
	// a line both a renamed call and an enclosing renamed call realign
	// keeps the first (outer) realignment
	edit.Sort(out)
	kept := out[:0]
	for _, e := range out {
		if len(kept) > 0 && e.Off < kept[len(kept)-1].End {
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

func (st *state) renamed(text string) string {
	return edit.MustApply(text, st.renameEdits([]byte(text)))
}

// hazardOf returns the hazard behind the item named name, or nil.
func (st *state) hazardOf(name string) *hazard.Hazard {
	if it := st.byName[name]; it != nil && len(it.entries) > 0 {
		return it.entries[0].Hazard
	}
	return nil
}

// single returns the one hazard all items serve, or nil when there are
// several.
func (st *state) single(header string) *hazard.Hazard {
	var h *hazard.Hazard
	for _, it := range st.items {
		if header != "" && it.header != header {
			continue
		}
		for _, e := range it.entries {
			if h != nil && h != e.Hazard {
				return nil
			}
			h = e.Hazard
		}
	}
	return h
}

// tagDeclRE is a declaration of a struct, union or enum tag alone
// ("struct foo;"): no object, so no storage class.
var tagDeclRE = regexp.MustCompile(`^(struct|union|enum)\s+\w+\s*;\s*$`)

// includeHeader returns the header a moved #include line comes from.
func (st *state) includeHeader(line string) string {
	for _, it := range st.items {
		if it.kind == kInclude && it.text == line {
			return it.header
		}
	}
	return ""
}

// includeFor returns a header's quoted #include as the file u must spell
// it: "../sof-audio.h" in sound/soc/sof/amd/acp.h names
// sound/soc/sof/sof-audio.h, which sound/soc/sof/pcm.c includes as
// "sof-audio.h". A system include, or a quoted one the tree does not hold
// beside the header (found through -I instead), is returned as it is.
func includeFor(p *rewrite.Pass, header, u, line string) string {
	system, inc := gen.IncludePath(line)
	if system || header == "" || path.Dir(header) == path.Dir(u) {
		return line
	}
	target := path.Clean(path.Join(path.Dir(header), inc))
	if strings.HasPrefix(target, "../") || p.File(target) == nil {
		return line
	}
	rel, err := filepath.Rel(path.Dir(u), target)
	if err != nil {
		return line
	}
	return "#include \"" + filepath.ToSlash(rel) + "\""
}

// block renders the definitions a user gets: every moved item but the
// functions and macros it does not need (need, when not nil: those it
// names, and what they name in turn).
func (st *state) block(need map[string]bool) string {
	var incs, decls, calls, macros []string
	var funcs []*item
	for _, it := range st.items {
		if need != nil && (it.kind == kFunc || it.kind == kMacro) && !need[it.name] {
			continue
		}
		switch it.kind {
		case kInclude:
			incs = append(incs, it.text)
		case kCall:
			calls = append(calls, it.text)
		case kDecl:
			d := st.renamed(it.text)
			if need != nil && !need[it.name] && !strings.HasPrefix(d, "typedef ") && !tagDeclRE.MatchString(d) {
				continue // a prototype nothing in the file calls
			}
			if !strings.HasPrefix(d, "extern ") && !strings.HasPrefix(d, "typedef ") && !tagDeclRE.MatchString(d) {
				d = "extern " + d // a function that lives in another file (maybe another object)
			}
			decls = append(decls, d)
		case kStruct:
			decls = append(decls, st.renamed(it.text))
		case kMacro:
			macros = append(macros, st.renamed(it.text))
		case kFunc:
			funcs = append(funcs, it)
		}
	}
	var b strings.Builder
	for _, inc := range incs {
		b.WriteString(inc + "\n")
	}
	if len(incs) > 0 {
		b.WriteString("\n")
	}
	var moved []string
	for _, it := range st.items {
		if it.seed && it.kind != kInclude {
			moved = append(moved, it.name)
		}
	}
	if len(moved) == 0 {
		return b.String()
	}
	headers := make([]string, 0, len(st.headers))
	for h := range st.headers {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	b.WriteString(gen.Comment("", append([]string{gen.Banner + ": header code moved here."},
		gen.Wrap(fmt.Sprintf(gen.Generated+" The patch changes %s in %s. A livepatch replaces functions, not headers, so this file gets its own copy of the new code it uses (renamed where the header keeps the old one) and its callers use the copy.",
			strings.Join(moved, ", "), strings.Join(headers, ", ")), 76)...)...))
	for _, d := range decls {
		b.WriteString("\n" + strings.TrimRight(d, "\n") + "\n")
	}
	for _, c := range calls { // after the declarations they call
		b.WriteString("\n" + strings.TrimRight(c, "\n") + "\n")
	}
	for _, m := range macros {
		b.WriteString("\n" + strings.TrimRight(m, "\n") + "\n")
	}
	for _, it := range order(funcs) {
		b.WriteString("\n" + strings.TrimRight(st.renamed(it.text), "\n") + "\n")
	}
	return b.String()
}

// order sorts functions so callees come before callers.
func order(fs []*item) []*item {
	names := map[string]*item{}
	for _, f := range fs {
		names[f.name] = f
	}
	var out []*item
	state := map[*item]int{}
	var visit func(*item)
	visit = func(it *item) {
		if state[it] != 0 {
			return
		}
		state[it] = 1
		for _, t := range ast.Tokenize([]byte(it.text)) {
			if dep, ok := names[t.Text]; ok && dep != it && t.Kind == ast.Ident {
				visit(dep)
			}
		}
		state[it] = 2
		out = append(out, it)
	}
	for _, f := range fs {
		visit(f)
	}
	return out
}

// inDirectiveAt reports whether off lies in a preprocessor line (a
// #define of the file uses the name: its users are what counts).
func inDirectiveAt(f *ast.File, off int) bool {
	for _, t := range f.Tokens {
		if t.Off <= off && off < t.End {
			return t.Kind == ast.Directive
		}
	}
	return false
}

// editUser inserts the block into a user and switches its uses; it returns
// the functions of the file whose code changes.
func (st *state) editUser(u, block string) []string {
	p := st.p
	f := p.Parse(u)
	fns := map[string]bool{}
	for _, e := range st.renameEdits(f.Src) {
		e.File = u
		e.Hazard = st.hazardOf(nameAt(f.Src, e))
		st.edit(e)
		fn := f.FuncAt(e.Off)
		if fn != nil && e.Text != "" && e.Text[0] != '\t' && e.Text[0] != ' ' {
			fns[fn.Name] = true
		}
		if fn == nil && !inDirectiveAt(f, e.Off) {
			// a static initializer: data, which a livepatch does not change
			if use := fmt.Sprintf("%s:%d (%s)", u, f.Line(e.Off), nameAt(f.Src, e)); !slices.Contains(st.fileScope, use) {
				st.fileScope = append(st.fileScope, use)
			}
		}
	}
	// new items used by name (added helpers) also make their callers change
	for _, t := range f.Tokens {
		if it, ok := st.byName[t.Text]; ok && it.added && t.Kind == ast.Ident {
			if fn := f.FuncAt(t.Off); fn != nil {
				fns[fn.Name] = true
			}
		}
	}
	at := gen.InsertionPoint(f)
	var incs []string
	rest := block
	for _, it := range st.items {
		if it.kind == kInclude {
			rest = strings.Replace(rest, it.text+"\n", "", 1)
			incs = append(incs, it.text)
		}
	}
	for _, inc := range incs {
		inc = includeFor(p, st.includeHeader(inc), u, inc)
		if e, ok := gen.Include(f, inc); ok {
			e.Why, e.Hazard = "include moved from the header", st.single("")
			st.edit(e)
		}
	}
	if strings.TrimSpace(rest) != "" {
		st.edit(edit.Edit{File: u, Off: at, End: at, Text: gen.Styled(u, gen.InsertText(f.Src, at, rest)), Why: movedCode, Hazard: st.single("")})
	}
	var out []string
	for fn := range fns {
		out = append(out, fn)
	}
	sort.Strings(out)
	return out
}

// userBlock returns the moved code to insert into user u: what it needs.
// The .c files of one unit (rt.c and deadline.c, which
// kernel/sched/build_policy.c #includes) share one copy, with what all of
// them need, in the one the compiler reads first: a second copy would be
// a redefinition, and the first is seen by the files read after it.
func (st *state) userBlock(u string, users []string) string {
	env := st.p.Env
	if env == nil || env.Unit(u) == u {
		return st.block(st.needs(u))
	}
	unit, first := env.Unit(u), ""
	need := map[string]bool{}
	for _, o := range users {
		if env.Unit(o) != unit || o == unit {
			continue
		}
		if first == "" || slices.Compare(env.UnitPosition(o), env.UnitPosition(first)) < 0 {
			first = o
		}
		maps.Copy(need, st.needs(o))
	}
	if u != first {
		return ""
	}
	return st.block(need)
}

// needs returns the moved functions and macros file u uses: those it
// names, and those they name, transitively (and the declarations they
// name). A copied inline the file does
// not call is left out: it could need what the file does not have (a
// struct it only declares).
func (st *state) needs(u string) map[string]bool {
	need := map[string]bool{}
	var visit func(toks []ast.Token)
	visit = func(toks []ast.Token) {
		for _, t := range toks {
			if t.Kind == ast.Directive {
				visit(ast.Tokenize([]byte(t.Text[1:])))
				continue
			}
			it, ok := st.byName[t.Text]
			if ok && t.Kind == ast.Ident && it.kind == kDecl {
				need[it.name] = true // a declaration the file names
			}
			if !ok || t.Kind != ast.Ident || need[it.name] || (it.kind != kFunc && it.kind != kMacro) {
				continue
			}
			need[it.name] = true
			visit(ast.Tokenize([]byte(it.text)))
		}
	}
	visit(ast.Tokenize(st.p.File(u)))
	return need
}

// movedCode is the purpose of the edit that inserts the moved code.
const movedCode = "moved header code"

// check compiles the users (gcc -fsyntax-only) with the pending edits:
// a moved definition that needs what a user does not have (a struct it
// only declares, a function it does not include) must not reach the
// rewritten patch. An error the users have without the edits too is not
// header2c's. It returns why not, or "".
func (st *state) check(users []string) string {
	p := st.p
	if !p.HasCompiler() || len(users) == 0 {
		return ""
	}
	o, err := p.Oracle()
	if err != nil {
		return "the users cannot be compiled with the moved code: " + err.Error()
	}
	byFile := map[string][]edit.Edit{}
	for _, e := range st.pending {
		byFile[e.File] = append(byFile[e.File], e)
	}
	files := p.CurrentFiles()
	blocks := map[string][2]int{} // .c file -> lines of the moved code in it
	for f, es := range byFile {
		es = append([]edit.Edit(nil), es...)
		edit.Sort(es)
		out, starts, err := edit.ApplyOffsets(p.File(f), es)
		if err != nil {
			return fmt.Sprintf("its edits of %s overlap: %v", f, err)
		}
		files[f] = out
		for i, e := range es {
			if e.Why == movedCode && !change.IsHeader(f) {
				lines := ast.NewLines(out)
				blocks[f] = [2]int{lines.Line(starts[i]), lines.Line(starts[i] + len(e.Text))}
			}
		}
	}
	if len(blocks) == 0 {
		return ""
	}
	errs := func(files map[string][]byte) ([]build.Diagnostic, error) {
		ds, err := o.Diagnostics(p.Context(), files, users)
		var out []build.Diagnostic
		for _, d := range ds {
			// a "redefined" warning is a name clash the move made: the
			// _lp name already meant something in that file, and now means
			// the moved code there too
			if d.Severity == "error" || strings.Contains(d.Message, "redefined") {
				out = append(out, d)
			}
		}
		return out, err
	}
	// a compile that fails is no evidence either way: the move is refused
	// (and a failure of the environment stops the run, Session.Err)
	after, err := errs(files)
	if err != nil {
		return "the users cannot be compiled with the moved code: " + err.Error()
	}
	if len(after) == 0 {
		return ""
	}
	before, err := errs(p.CurrentFiles())
	if err != nil {
		return "the users cannot be compiled without the moved code: " + err.Error()
	}
	had := map[string]bool{}
	for _, d := range before {
		had[d.File+": "+d.Message] = true
	}
	for _, d := range after {
		// only the moved code's own errors: a header is in between states
		// while later transforms rewrite what it still declares
		b, ok := blocks[d.File]
		if !ok || d.Line < b[0] || d.Line > b[1] {
			continue
		}
		if had[d.File+": "+d.Message] {
			continue
		}
		if retypedCall(p, d.Message) != "" {
			// the moved code calls a function-pointer member with the
			// arguments of the signature upstream gives it; the member's
			// own finding (retype) settles how the call reaches it, and a
			// member it cannot settle refuses the patch anyway
			continue
		}
		return fmt.Sprintf("%s does not compile with the moved code: %s:%d: %s", d.File, d.File, d.Line, d.Message)
	}
	return ""
}

// incompatibleArg matches gcc's error for an argument of a call whose
// type is not the parameter's: the called expression is quoted.
var incompatibleArg = regexp.MustCompile(`^passing argument \d+ of '(.*)' from incompatible pointer type`)

// retypedCall returns the member a call diagnostic is about when the
// called expression is a member ("ops->m", "(*s).m") whose declaration the
// patch changes to another function-pointer signature, a finding still
// open; "" otherwise.
func retypedCall(p *rewrite.Pass, msg string) string {
	m := incompatibleArg.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	expr := m[1]
	i := max(strings.LastIndex(expr, "->")+2, strings.LastIndex(expr, ".")+1)
	if i <= 1 {
		return ""
	}
	member := expr[i:]
	for _, e := range p.MemberRetypes(member) {
		if e.ResolvedBy == "" && e.Kind == hazard.StructLayout && e.Change.PostMember != nil && strings.Contains(e.Change.PostMember.Type, "(*") {
			return member
		}
	}
	return ""
}

// nameAt returns the identifier a rename edit replaces ("" for a
// realignment).
func nameAt(src []byte, e edit.Edit) string {
	if e.Off >= e.End || e.End > len(src) {
		return ""
	}
	return string(src[e.Off:e.End])
}

// revertHeaders puts the moved definitions of each header back as they
// were before the patch (new ones disappear).
func (st *state) revertHeaders() map[string][]byte {
	p := st.p
	out := map[string][]byte{}
	for h := range st.headers {
		f := p.Parse(h)
		lines := map[int]bool{}
		for _, it := range st.items {
			if it.header != h || !it.seed {
				continue
			}
			switch it.kind {
			case kFunc:
				for _, fn := range f.Definitions(it.name) {
					for l := range gen.LinesOf(f, fn.Span) {
						lines[l] = true
					}
				}
			case kMacro:
				for _, m := range f.Macros {
					if m.Name == it.name && !m.Undef {
						for l := range gen.LinesOf(f, m.Span) {
							lines[l] = true
						}
					}
				}
			case kDecl, kStruct, kInclude, kCall:
				i := strings.Index(string(f.Src), it.text)
				if i >= 0 {
					for l := range gen.LinesOf(f, ast.Span{Off: i, End: i + len(it.text)}) {
						lines[l] = true
					}
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		cur := f.Src
		reverted := gen.RevertLines(p.Original(h), cur, lines)
		out[h] = reverted
		for _, e := range edit.Diff(h, cur, reverted) {
			e.Why, e.Hazard = "header code moved out", st.single(h)
			st.edit(e)
		}
	}
	return out
}

// keptRemovals resolves the removals of macros that reverting the moved
// code's lines put back (a macro the upstream change turns into an inline
// of the same name, TPM_MEMREMAP): the compiler found every user of that
// name among the moved items, and those use the moved copy, so the
// original macro, back in the header, is what unpatched code always had.
func (st *state) keptRemovals(reverted map[string][]byte) {
	p := st.p
	parsed := map[string]*ast.File{} // each reverted header, parsed once
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MacroRemoved || reverted[e.File] == nil || st.byName[ch.Name] == nil {
			continue
		}
		fc := p.ChangeOf(e.File)
		if fc == nil || fc.Pre == nil {
			continue
		}
		if parsed[e.File] == nil {
			parsed[e.File] = ast.Parse(e.File, reverted[e.File])
		}
		old, back := fc.Pre.Macro(ch.Name), parsed[e.File].Macro(ch.Name)
		if old == nil || back == nil || fc.Pre.Text(old.Span) != parsed[e.File].Text(back.Span) {
			continue
		}
		how := "the original macro stays in the header, unused by the patched code"
		if nn, ok := st.rename[ch.Name]; ok {
			how = fmt.Sprintf("the original macro stays in the header for unpatched code; the patched code uses %s", nn)
		}
		p.Resolve(e, how)
	}
}
