// Package moved is the transform for code a patch moves, unchanged,
// between files: the macros, structs, typedefs and inline functions
// upstream deletes from header A and adds, token for token the same, to
// header B (a cleanup that comes with a fix: "remove the remaining
// dependencies of hci_request.h"), or functions and their exports moved
// into a new .c file with the Makefile line that builds it. Moving changes
// what no compiled file means, but as the hunks stand the added copy looks
// like new header code or a new function, and the removed one like a
// struct or an export that disappears. The livepatch needs none of it: the
// runs of changed lines that only move code are undone, so the code stays
// where it was; a new file that holds nothing else is dropped; the #include
// changes of the files involved are undone with them (a removed #include of
// A is kept, an added one of B dropped); a Makefile run that only adds the
// object of a dropped file is undone. A patch that only moves code needs no
// livepatch.
//
// Before (upstream):	struct hci_request leaves net/bluetooth/hci_request.h,
// the same text enters include/net/bluetooth/hci_sync.h, and
// net/bluetooth/hci_sync.c drops #include "hci_request.h" and changes a
// function.
//
// After (rewritten):	only hci_sync.c's function change is left.
//
// It refuses (leaves the hazards to the others) when a run of changed lines
// mixes moved code with other changes, a new file holds more than moved
// code, or a file that still changes names a moved definition it would not
// see as it did before (through its original #include lines, or the header
// the definition stays in).
package moved

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the moved transform.
var Transform = &rewrite.Transform{
	Name: "moved",
	Doc: "code the patch moves unchanged between files (definitions between headers, functions into a new file) stays where it was: " +
		"the hunks that move it and the #include and Makefile lines that follow are dropped, so every file sees and runs what it did before",
	// the kinds of hazard moved code and its #include and Makefile lines raise
	Kinds: []hazard.Kind{hazard.HeaderMacro, hazard.HeaderDecl, hazard.HeaderOther, hazard.HeaderInline, hazard.StructLayout,
		hazard.NewInclude, hazard.Export, hazard.DataInit, hazard.Prototype, hazard.Unclassified},
	Opportunistic: true,
	Run:           run,
}

// def is one top-level definition of a file, before or after the patch.
type def struct {
	class, name string // "macro", "struct", "decl", "func", "var", "call"; the name it defines
	span        ast.Span
	code        string // its code tokens, comments left out, whitespace collapsed
	// cond is the #if condition around it, the file's include guard left
	// out: a definition that moves out of (or into) an #ifdef is not the
	// same code in its new place
	cond string
}

func (d def) key() string { return d.class + " " + d.name }

// move is a definition upstream deletes from one file and adds to another.
type move struct {
	key      string
	from, to string
	// changed is set for a function upstream changes as it moves it into
	// a new file: the change is made where the function was.
	changed bool
}

// plan is what the transform would do: the edits of each file, the new
// files it drops, and the files whose every change it undoes.
type plan struct {
	edits    map[string][]edit.Edit
	reverted map[string][]undone // runs undone, per file
	dropped  map[string]bool     // new files dropped
	restored map[string]bool     // files the plan gives back their original text
	after    map[string][]byte   // the text of each file the plan edits, once edited
}

// undone is one run of changed lines undone: its first and last line in
// the original and in the current text ({0, -1} when it has none there).
type undone struct{ old, cur [2]int }

// replacement is the new text of a function that moves with a change,
// for its span in the file it leaves.
type replacement struct {
	span ast.Span
	text string
}

// undo records the undoing of the run [off, end) of old / [cOff, cEnd) of
// cur: old's text comes back, with the functions of rs in it given their
// new text.
func (pl *plan) undo(f string, old, cur []byte, off, end, cOff, cEnd int, rs []replacement) {
	var text strings.Builder
	at := off
	slices.SortFunc(rs, func(a, b replacement) int { return a.span.Off - b.span.Off })
	for _, r := range rs {
		if r.span.Off >= at && r.span.End <= end {
			text.Write(old[at:r.span.Off])
			text.WriteString(r.text)
			at = r.span.End
		}
	}
	text.Write(old[at:end])
	pl.edits[f] = append(pl.edits[f], edit.Edit{File: f, Off: cOff, End: cEnd, Text: text.String()})
	pl.reverted[f] = append(pl.reverted[f], undone{lineRange(old, off, end), lineRange(cur, cOff, cEnd)})
}

// lineRange is the 1-based first and last line of [off, end) in src.
func lineRange(src []byte, off, end int) [2]int {
	if off >= end {
		return [2]int{0, -1}
	}
	return [2]int{1 + bytes.Count(src[:off], []byte("\n")), 1 + bytes.Count(src[:end-1], []byte("\n"))}
}

func run(p *rewrite.Pass) error {
	lost, gained := map[string][]def{}, map[string][]def{}
	for _, fc := range p.Changes {
		if e := path.Ext(fc.Path); e != ".c" && e != ".h" {
			continue
		}
		lost[fc.Path] = gone(fc.Pre, fc.Post)
		gained[fc.Path] = gone(fc.Post, fc.Pre)
	}
	newFiles := map[string]bool{}
	for _, fc := range p.Changes {
		if fc.Pre == nil && fc.Post != nil {
			newFiles[fc.Path] = true
		}
	}
	moves := append(pairs(lost, gained), changedFuncs(lost, gained, newFiles)...)
	if len(moves) == 0 {
		return nil
	}
	keys := map[string]bool{}
	fromSpans, toSpans := map[string][]ast.Span{}, map[string][]ast.Span{}
	froms, tos := map[string]bool{}, map[string]bool{}
	for _, m := range moves {
		keys[m.key] = true
		froms[m.from], tos[m.to] = true, true
	}
	replace := map[string][]replacement{} // from file -> functions to give their new text
	var changedNotes []rewrite.Finding
	for _, m := range moves {
		for _, d := range lost[m.from] {
			if d.key() == m.key {
				fromSpans[m.from] = append(fromSpans[m.from], d.span)
			}
		}
		for _, d := range gained[m.to] {
			if d.key() == m.key {
				toSpans[m.to] = append(toSpans[m.to], d.span)
			}
		}
		if m.changed {
			o, n := only(lost[m.from], m.key), only(gained[m.to], m.key)
			replace[m.from] = append(replace[m.from], replacement{o.span, string(p.Current[m.to][n.span.Off:n.span.End])})
			changedNotes = append(changedNotes, rewrite.Finding{File: m.from, Line: lineRange(p.Original(m.from), o.span.Off, o.span.End)[0],
				Subject: m.key[len("func "):], Reason: fmt.Sprintf("moved to %s and changed upstream: changed where it was, in %s", m.to, m.from)})
		}
	}
	pl, why := makePlan(p, fromSpans, toSpans, froms, tos, replace)
	if why == "" {
		why = check(p, pl, moves)
	}
	if why == "" {
		why = changedHazards(p, pl, moves)
	}
	if why == "" {
		why = unchangedUsers(p, moves)
	}
	if why != "" {
		for _, e := range p.Entries {
			if e.ResolvedBy == "" && e.Change != nil && keys[changeKey(e.Change)] {
				p.Refuse(e, why)
			}
		}
		return nil
	}
	for _, f := range slices.Sorted(maps.Keys(pl.edits)) {
		for _, e := range pl.edits[f] {
			switch {
			case pl.dropped[f]:
				e.Why = "new file of moved code dropped"
			case froms[f]:
				e.Why = "moved code kept where it was"
			case tos[f]:
				e.Why = "moved code not added again"
			default:
				e.Why = "change that comes with the move undone"
			}
			p.Edit(e)
		}
	}
	fromList, toList := slices.Sorted(maps.Keys(froms)), slices.Sorted(maps.Keys(tos))
	how := fmt.Sprintf("moved unchanged from %s to %s upstream: kept where it was, so every file sees and runs the code it did before",
		strings.Join(fromList, ", "), strings.Join(toList, ", "))
	changed := map[string]bool{}
	for _, m := range moves {
		if m.changed {
			changed[m.key] = true
		}
	}
	for _, e := range p.Entries {
		if e.ResolvedBy == "" && covered(pl, e) && slices.Contains(p.Transform.Kinds, e.Kind) {
			if e.Change != nil && changed[changeKey(e.Change)] {
				p.Resolve(e, "moved into a new file and changed upstream: changed where it was, the move left out")
				continue
			}
			p.Resolve(e, how)
		}
	}
	for _, n := range changedNotes {
		p.Note(n)
	}
	unchanged := map[string]bool{}
	for k := range keys {
		if !changed[k] {
			unchanged[k] = true
		}
	}
	_, shown := nameList(unchanged)
	if len(shown) > 0 {
		p.Note(rewrite.Finding{File: toList[0], Line: 1, Subject: strings.Join(shown, ", "),
			Reason: how + "; the hunks that move it are dropped"})
	}
	return nil
}

// makePlan undoes, in every file of the patch, the runs of changed lines
// that only move code (the moved definitions, #include lines), drops a new
// file that holds nothing else, and undoes a Makefile run that only adds
// the object of a dropped file.
func makePlan(p *rewrite.Pass, fromSpans, toSpans map[string][]ast.Span, froms, tos map[string]bool, replace map[string][]replacement) (*plan, string) {
	pl := &plan{edits: map[string][]edit.Edit{}, reverted: map[string][]undone{}, dropped: map[string]bool{}, restored: map[string]bool{},
		after: map[string][]byte{}}
	for _, fc := range p.Changes {
		f := fc.Path
		if e := path.Ext(f); e != ".c" && e != ".h" {
			continue
		}
		old, cur := p.Original(f), p.Current[f]
		if cur == nil {
			continue
		}
		if old == nil {
			if !tos[f] {
				continue
			}
			if !onlyMoved(p.Parse(f), toSpans[f]) {
				return nil, fmt.Sprintf("the new file %s holds code besides what moves into it", f)
			}
			pl.dropped[f] = true
			pl.edits[f] = []edit.Edit{{File: f, Off: 0, End: len(cur), Text: ""}}
			continue
		}
		po, pc := fc.Pre, p.Parse(f)
		delta := 0
		for _, d := range edit.Diff(f, old, cur) {
			cOff := d.Off + delta
			cEnd := cOff + len(d.Text)
			delta += len(d.Text) - (d.End - d.Off)
			mo, io, xo := classify(po, d.Off, d.End, fromSpans[f])
			mc, ic, xc := classify(pc, cOff, cEnd, toSpans[f])
			switch {
			case (mo || mc) && (xo || xc):
				return nil, fmt.Sprintf("a hunk of %s moves code together with other changes", f)
			case !mo && !mc && (xo || xc || !(io || ic)):
				continue // a change of its own, left to the others
			}
			if io || ic {
				// the #include lines of the run: those of the move (a
				// removed include of a header code leaves, an added one of
				// a header it enters) are undone with it; any other is a
				// change of its own (a header a new call needs)
				ofMove, others := includeRun(f, po, pc, d.Off, d.End, cOff, cEnd, froms, tos)
				switch {
				case others && (mo || mc || ofMove):
					return nil, fmt.Sprintf("a hunk of %s changes #include lines the move does not explain together with the move", f)
				case !mo && !mc && !ofMove:
					continue // an include change that has nothing to do with the move
				}
			}
			pl.undo(f, old, cur, d.Off, d.End, cOff, cEnd, replace[f])
		}
	}
	// a Makefile run that only adds the objects of dropped files
	for _, fc := range p.Changes {
		f := fc.Path
		if b := path.Base(f); b != "Makefile" && b != "Kbuild" {
			continue
		}
		old, cur := p.Original(f), p.Current[f]
		if old == nil || cur == nil {
			continue
		}
		objs := map[string]bool{}
		for d := range pl.dropped {
			if o := objectIn(f, d); o != "" {
				objs[o] = true
			}
		}
		delta := 0
		for _, d := range edit.Diff(f, old, cur) {
			cOff := d.Off + delta
			cEnd := cOff + len(d.Text)
			delta += len(d.Text) - (d.End - d.Off)
			if onlyAdds(string(old[d.Off:d.End]), string(cur[cOff:cEnd]), objs) {
				pl.undo(f, old, cur, d.Off, d.End, cOff, cEnd, nil)
			}
		}
	}
	for f, es := range pl.edits {
		res, err := edit.Apply(p.Current[f], es)
		if err != nil {
			return nil, err.Error()
		}
		pl.after[f] = res
		if old := p.Original(f); old != nil && bytes.Equal(res, old) {
			pl.restored[f] = true
		}
	}
	return pl, ""
}

// check makes sure the plan leaves a patch that builds against the
// original headers: every dropped .c file's object left out of the build,
// and every file that still changes and names a moved definition either
// has its original #include lines or includes a header it stays in.
func check(p *rewrite.Pass, pl *plan, moves []move) string {
	homesOf := map[string][]string{} // identifier -> the files it stays in
	keys := map[string]bool{}
	for _, m := range moves {
		keys[m.key] = true
		if class, name, _ := strings.Cut(m.key, " "); class != "call" && !slices.Contains(homesOf[name], m.from) {
			homesOf[name] = append(homesOf[name], m.from)
		}
	}
	names, _ := nameList(keys)
	for d := range pl.dropped {
		for _, fc := range p.Changes {
			obj := objectIn(fc.Path, d)
			if b := path.Base(fc.Path); (b == "Makefile" || b == "Kbuild") && obj != "" && p.Current[fc.Path] != nil {
				res, ok := pl.after[fc.Path]
				if !ok {
					res = p.Current[fc.Path]
				}
				if containsWord(string(res), obj) && !containsWord(string(p.Original(fc.Path)), obj) {
					return fmt.Sprintf("%s would still build %s, whose file moves its code", fc.Path, obj)
				}
			}
		}
	}
	for _, fc := range p.Changes {
		f := fc.Path
		if e := path.Ext(f); (e != ".c" && e != ".h") || pl.dropped[f] || p.Current[f] == nil {
			continue
		}
		if pl.restored[f] {
			continue
		}
		after := p.Parse(f)
		if res, ok := pl.after[f]; ok {
			after = ast.Parse(f, res)
		}
		before := fc.Pre
		for _, name := range namedOf(after, names) {
			homes := homesOf[name]
			if before != nil && sameIncludes(before, after) && ast.NamesAny(before.Tokens, map[string]bool{name: true}) && seesOneOf(p, f, homes) {
				continue // it saw the definition before, through the same includes
			}
			if !slices.ContainsFunc(homes, func(h string) bool { return h == f || includes(f, after, h) }) {
				sort.Strings(homes)
				return fmt.Sprintf("%s uses %s and does not include %s, where it stays", f, name, strings.Join(homes, " or "))
			}
		}
	}
	return ""
}

// seesOneOf reports whether file f includes one of headers, directly or
// through other headers (the tree's include graph), or is one of them: a
// name of the file alone (a forward declaration "struct x;") does not show
// it saw the definition.
func seesOneOf(p *rewrite.Pass, f string, headers []string) bool {
	for _, h := range headers {
		if h == f || p.IncludesHeader(f, h) {
			return true
		}
	}
	return false
}

// unchangedUsers says why undoing a move between headers would lose what
// the move does: a file the patch does not change, which the config
// builds, includes one of the two headers and not the other, and names
// the moved definition (in code or in an #if). Upstream, that file sees
// the definition appear or disappear (an override such as
// "#define arch_foo arch_foo" moved so a generic #ifndef fallback stops
// applying): the move itself is the fix, and keeping the definition where
// it was would leave the running kernel's code as it is.
func unchangedUsers(p *rewrite.Pass, moves []move) string {
	usersOf := map[string]map[string]bool{}
	users := func(h string) (map[string]bool, bool) {
		if u, ok := usersOf[h]; ok {
			return u, u != nil
		}
		usersOf[h] = nil
		if !p.Env.Tree.Exists(h) {
			return nil, false
		}
		hu, err := p.Env.HeaderUsers(h)
		if err != nil {
			return nil, false
		}
		set := map[string]bool{}
		for _, f := range hu.Candidates() {
			set[f] = true
		}
		usersOf[h] = set
		return set, true
	}
	for _, m := range moves {
		class, name, _ := strings.Cut(m.key, " ")
		if class == "call" || path.Ext(m.from) != ".h" || path.Ext(m.to) != ".h" {
			continue
		}
		// A new header has no includers the patch does not change; a
		// header that includes the other after the patch gives its
		// includers both.
		from, okF := users(m.from)
		to, okT := users(m.to)
		if !okF || !okT || includesHeader(p, m.from, m.to) || includesHeader(p, m.to, m.from) {
			continue
		}
		for _, side := range [][2]map[string]bool{{from, to}, {to, from}} {
			for _, f := range slices.Sorted(maps.Keys(side[0])) {
				if side[1][f] || p.Current[f] != nil {
					continue // sees both, or changed by the patch (check looks at those)
				}
				src, err := p.Env.Tree.ReadFile(f)
				if err != nil || !bytes.Contains(src, []byte(name)) || !ast.NamesAny(ast.Parse(f, src).Tokens, map[string]bool{name: true}) {
					continue
				}
				return fmt.Sprintf("%s names %s and includes only one of %s and %s: the move changes what it compiles, so the move is part of the fix", f, name, m.from, m.to)
			}
		}
	}
	return ""
}

// includesHeader reports whether header h, as the patch leaves it,
// includes header other.
func includesHeader(p *rewrite.Pass, h, other string) bool {
	f := p.Parse(h)
	return f != nil && includes(h, f, other)
}

// changedHazards says why a function moved and changed cannot simply be
// changed where it was: in its old place the change is a FuncChanged of its
// own, with the hazards that brings (a SYSCALL_DEFINE body, __init or
// notrace code, a new static local, a changed prototype), which the
// patch's hunks, a removal and an addition, never showed the other
// transforms. Hazards whose action is none (notes) do not count.
func changedHazards(p *rewrite.Pass, pl *plan, moves []move) string {
	for _, m := range moves {
		if !m.changed {
			continue
		}
		after, ok := pl.after[m.from]
		if !ok {
			continue
		}
		name := strings.TrimPrefix(m.key, "func ")
		for _, h := range hazard.Analyze([]*change.File{change.Compute(m.from, p.Original(m.from), after)}) {
			if h.Action == "none" || h.Change == nil || h.Change.Func != name {
				continue
			}
			return fmt.Sprintf("%s moves to %s and changes: where it was, the change is a hazard of its own (%s: %s), which moving it back would hide", name, m.to, h.Kind, h.Reason)
		}
	}
	return ""
}

// covered reports whether the plan undoes what an entry is about: its file
// is dropped or left as it was, or its line lies in an undone run (of the
// original text for a removal, of the current one otherwise).
func covered(pl *plan, e *rewrite.Entry) bool {
	if pl.dropped[e.File] || pl.restored[e.File] {
		return true
	}
	if e.Change == nil {
		return false
	}
	removal := strings.HasSuffix(string(e.Change.Kind), "removed")
	for _, r := range pl.reverted[e.File] {
		lines := r.cur
		if removal {
			lines = r.old
		}
		if lines[0] <= e.Line && e.Line <= lines[1] {
			return true
		}
	}
	return false
}

// changeKey is the definition key a change is about, or "".
func changeKey(ch *change.Change) string {
	switch ch.Kind {
	case change.MacroAdded, change.MacroRemoved:
		return "macro " + ch.Name
	case change.StructAdded, change.StructRemoved:
		return "struct " + ch.Struct
	case change.DeclAdded, change.DeclRemoved:
		return "decl " + ch.Name
	case change.FuncAdded, change.FuncRemoved:
		return "func " + ch.Func
	case change.VarAdded, change.VarRemoved:
		return "var " + ch.Name
	case change.CallAdded, change.CallRemoved:
		return "call " + ch.Subject
	}
	return ""
}

// gone returns the top-level definitions of a that b does not have (by
// kind and name).
func gone(a, b *ast.File) []def {
	if a == nil {
		return nil
	}
	have := map[string]bool{}
	for _, d := range defs(b) {
		have[d.key()] = true
	}
	var out []def
	for _, d := range defs(a) {
		if !have[d.key()] {
			out = append(out, d)
		}
	}
	return out
}

// defs lists a file's top-level macros, named structs and unions,
// declarations, functions, globals and file-scope macro calls
// (EXPORT_SYMBOL(f)); none of a nil file.
func defs(f *ast.File) []def {
	if f == nil {
		return nil
	}
	var out []def
	for _, m := range f.Macros {
		if !m.Undef {
			out = append(out, def{"macro", m.Name, m.Span, code(f, m.Span), condOf(f, m.Cond)})
		}
	}
	for _, s := range f.Structs {
		if s.Name != "" && !nested(f, s) {
			span := withSemicolon(f, s.Span)
			out = append(out, def{"struct", s.Name, span, code(f, span), condOf(f, s.Cond)})
		}
	}
	for _, d := range f.Decls {
		out = append(out, def{"decl", d.Name, d.Span, code(f, d.Span), condOf(f, d.Cond)})
	}
	for _, fn := range f.Funcs {
		out = append(out, def{"func", fn.Name, fn.Span, code(f, fn.Span), condOf(f, fn.Cond)})
	}
	for _, v := range f.Vars {
		if v.Func == nil {
			out = append(out, def{"var", v.Name, v.Span, code(f, v.Span), condOf(f, v.Cond)})
		}
	}
	for _, c := range f.Calls {
		span := withSemicolon(f, c.Span)
		out = append(out, def{"call", c.Name + "(" + strings.Join(c.Args, ", ") + ")", span, code(f, span), condOf(f, c.Cond)})
	}
	return out
}

// withSemicolon extends a definition's span over the ';' that ends it.
func withSemicolon(f *ast.File, span ast.Span) ast.Span {
	for _, t := range f.Tokens {
		if t.Off < span.End || t.Kind == ast.Comment {
			continue
		}
		if t.Is(";") {
			span.End = t.End
		}
		break
	}
	return span
}

// nested reports whether s is defined inside another struct of f.
func nested(f *ast.File, s *ast.Struct) bool {
	for _, o := range f.Structs {
		if o != s && o.Span.Off <= s.Span.Off && s.Span.End <= o.Span.End {
			return true
		}
	}
	return false
}

// pairs matches every removed definition to an added one of another file
// of the same kind (header or source) with the same kind, name and code.
// A name defined more than once on either side (a macro removed twice)
// pairs when every copy has the same code.
func pairs(removed, added map[string][]def) []move {
	var out []move
	for _, from := range slices.Sorted(maps.Keys(removed)) {
		seen := map[string]bool{}
		for _, r := range removed[from] {
			if seen[r.key()] {
				continue
			}
			seen[r.key()] = true
			code, ok := sameCode(removed[from], r.key())
			if !ok {
				continue
			}
			var tos []string
			for to, ds := range added {
				if to == from || path.Ext(to) != path.Ext(from) {
					continue
				}
				if c, ok := sameCode(ds, r.key()); ok && c == code {
					tos = append(tos, to)
				}
			}
			if len(tos) == 1 {
				out = append(out, move{key: r.key(), from: from, to: tos[0]})
			}
		}
	}
	return out
}

// changedFuncs matches a function removed from one .c file to a function
// of the same name, with other code, in a new .c file: moved and changed.
// Each must be defined once on its side.
func changedFuncs(removed, added map[string][]def, newFiles map[string]bool) []move {
	var out []move
	for _, from := range slices.Sorted(maps.Keys(removed)) {
		if path.Ext(from) != ".c" {
			continue
		}
		for _, r := range removed[from] {
			if r.class != "func" || count(removed[from], r.key()) != 1 {
				continue
			}
			var tos []string
			for _, to := range slices.Sorted(maps.Keys(added)) {
				if newFiles[to] && path.Ext(to) == ".c" && count(added[to], r.key()) == 1 && only(added[to], r.key()).code != r.code && only(added[to], r.key()).cond == r.cond {
					tos = append(tos, to)
				}
			}
			if len(tos) == 1 {
				out = append(out, move{key: r.key(), from: from, to: tos[0], changed: true})
			}
		}
	}
	return out
}

func count(ds []def, k string) int {
	n := 0
	for _, d := range ds {
		if d.key() == k {
			n++
		}
	}
	return n
}

// only returns the definition of ds with key k (the first).
func only(ds []def, k string) def {
	for _, d := range ds {
		if d.key() == k {
			return d
		}
	}
	return def{}
}

// condOf is c without the terms of f's include guard.
func condOf(f *ast.File, c ast.Cond) string {
	var kept ast.Cond
	for _, t := range c {
		if f.Guard != "" && ast.NamesAny(ast.Tokenize([]byte(t.Expr)), map[string]bool{f.Guard: true}) {
			continue
		}
		kept = append(kept, t)
	}
	return kept.String()
}

// sameCode returns the code of the definitions of ds with key k, when they
// all have the same.
func sameCode(ds []def, k string) (string, bool) {
	code, n := "", 0
	for _, d := range ds {
		if d.key() != k {
			continue
		}
		if n > 0 && d.cond+"\n"+d.code != code {
			return "", false
		}
		code = d.cond + "\n" + d.code
		n++
	}
	return code, n > 0
}

// code is the text of span's code tokens, comments left out and whitespace
// collapsed.
func code(f *ast.File, span ast.Span) string {
	var b strings.Builder
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment || t.Off < span.Off || t.End > span.End {
			continue
		}
		b.WriteString(strings.Join(strings.Fields(t.Text), " "))
		b.WriteByte(' ')
	}
	return b.String()
}

// resolves reports whether file's include inc names header.
func resolves(file string, inc *ast.Include, header string) bool {
	if !inc.System && path.Join(path.Dir(file), inc.Path) == header {
		return true
	}
	if header == "include/"+inc.Path {
		return true
	}
	return strings.HasPrefix(header, "arch/") && strings.HasSuffix(header, "/include/"+inc.Path)
}

// includes reports whether f (the text of file) includes header directly.
func includes(file string, f *ast.File, header string) bool {
	if f == nil {
		return false
	}
	for _, inc := range f.Includes {
		if resolves(file, inc, header) {
			return true
		}
	}
	return false
}

// namedOf returns the names of names that f names, in macro bodies too.
func namedOf(f *ast.File, names []string) []string {
	var out []string
	for _, n := range names {
		if ast.NamesAny(f.Tokens, map[string]bool{n: true}) {
			out = append(out, n)
		}
	}
	return out
}

// onlyMoved reports whether every code token of a new file is moved code
// (in spans), an #include line, a conditional directive or its include
// guard's #define.
func onlyMoved(f *ast.File, spans []ast.Span) bool {
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment || inSpans(t, spans) {
			continue
		}
		if t.Kind != ast.Directive {
			return false
		}
		switch name, rest := ast.DirectiveName(t); name {
		case "include", "ifndef", "ifdef", "if", "else", "elif", "endif":
		case "define":
			if f.Guard == "" || rest != f.Guard {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// classify says what code tokens [off, end) of f holds: moved code (in
// spans), #include lines, anything else.
func classify(f *ast.File, off, end int, spans []ast.Span) (moved, include, other bool) {
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment || t.End <= off || t.Off >= end {
			continue
		}
		switch {
		case inSpans(t, spans):
			moved = true
		case t.Kind == ast.Directive && isInclude(t):
			include = true
		default:
			other = true
		}
	}
	return moved, include, other
}

// includeRun tells, for a run of #include changes, whether it has lines of
// the move (an added include of a header code moves to; a removed include
// of a header code leaves, or any removed include of a file code leaves or
// enters) and whether it has others (an added include the rest of the
// fix may need).
func includeRun(file string, po, pc *ast.File, off, end, cOff, cEnd int, froms, tos map[string]bool) (ofMove, others bool) {
	any := func(inc *ast.Include, headers map[string]bool) bool {
		for h := range headers {
			if resolves(file, inc, h) {
				return true
			}
		}
		return false
	}
	for _, inc := range pc.Includes {
		if inc.Span.Off >= cOff && inc.Span.Off < cEnd {
			if any(inc, tos) {
				ofMove = true
			} else {
				others = true
			}
		}
	}
	for _, inc := range po.Includes {
		if inc.Span.Off >= off && inc.Span.Off < end {
			// a file code leaves or enters may drop an include the moved
			// code needed: restoring it is safe, the code is back
			if any(inc, froms) || froms[file] || tos[file] {
				ofMove = true
			} else {
				others = true
			}
		}
	}
	return ofMove, others
}

// onlyAdds reports whether the words of cur are those of old plus some of
// objs (a Makefile line that lists a dropped file's object).
func onlyAdds(old, cur string, objs map[string]bool) bool {
	if len(objs) == 0 {
		return false
	}
	words := func(s string) []string {
		var out []string
		for _, w := range strings.Fields(s) {
			if w != "\\" {
				out = append(out, w)
			}
		}
		return out
	}
	ow, cw := words(old), words(cur)
	added := false
	i := 0
	for _, w := range cw {
		if i < len(ow) && ow[i] == w {
			i++
			continue
		}
		if !objs[w] {
			return false
		}
		added = true
	}
	return added && i == len(ow)
}

// objectIn is how the Makefile mk names the object of source file src
// ("iter.o", or "core/iter.o" from the directory above), or "" when src is
// no .c file below mk's directory.
func objectIn(mk, src string) string {
	rel, ok := strings.CutPrefix(src, path.Dir(mk)+"/")
	if !ok || path.Ext(src) != ".c" {
		return ""
	}
	return strings.TrimSuffix(rel, ".c") + ".o"
}

// containsWord reports whether w is a whitespace-separated word of s.
func containsWord(s, w string) bool { return slices.Contains(strings.Fields(s), w) }

// sameIncludes reports whether a and b include the same files in the same
// order.
func sameIncludes(a, b *ast.File) bool {
	if len(a.Includes) != len(b.Includes) {
		return false
	}
	for i := range a.Includes {
		if a.Includes[i].Path != b.Includes[i].Path || a.Includes[i].System != b.Includes[i].System {
			return false
		}
	}
	return true
}

// nameList returns the identifiers the moved definitions define, and the
// names as the report shows them ("struct x", "EXPORT_SYMBOL(f)").
func nameList(keys map[string]bool) (names, shown []string) {
	for k := range keys {
		class, name, _ := strings.Cut(k, " ")
		if class == "call" {
			shown = append(shown, name)
			continue
		}
		names = append(names, name)
		if class == "struct" {
			name = "struct " + name
		}
		shown = append(shown, name)
	}
	return slices.Compact(slices.Sorted(slices.Values(names))), slices.Compact(slices.Sorted(slices.Values(shown)))
}

func inSpans(t ast.Token, spans []ast.Span) bool {
	for _, s := range spans {
		if s.Contains(t.Off) {
			return true
		}
	}
	return false
}

func isInclude(t ast.Token) bool {
	name, _ := ast.DirectiveName(t)
	return name == "include"
}
