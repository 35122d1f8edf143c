// Package enums is the transform for an enum in a header, or in a .c file,
// that gains values. Old code and the objects of the running kernel know
// the old constants as numbers; only a constant whose value moves (a
// trailing _MAX sentinel the new values are inserted before) means
// something else to them. So the header keeps its original enum, and the
// new constants are defined, with exactly the values upstream gives them,
// in the patched .c files that use them. An enum of a .c file is handled
// the same way, the file itself being its only user: it keeps its original
// enum, and the new constants are defined right after it.
//
// Before (upstream):	include/linux/f2fs_fs.h
//
//	 	STOP_CP_REASON_FLUSH_FAIL,
//	+	STOP_CP_REASON_CORRUPTED_NID,
//	 	STOP_CP_REASON_MAX,
//
// After (rewritten):	the header hunk is gone; fs/f2fs/node.c gets
//
//	enum {
//		STOP_CP_REASON_CORRUPTED_NID = STOP_CP_REASON_FLUSH_FAIL + 1,
//	};
//
// It refuses when an old constant is removed or renamed, when the old
// constants change order, when a constant whose value moves is used by a
// file the config builds (the compiler finds the uses: the constant is
// renamed in an overlay header and every includer compiled; for an enum
// of a .c file, any use in the file outside the enum counts, an #if'd out
// one too), when the enum has #if lines inside, when a header of the patch
// uses a new constant, or when an enum of a .c file is defined inside a
// struct or a function.
package enums

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Transform is the enums transform.
var Transform = &rewrite.Transform{
	Name: "enums",
	Doc: "a header enum that gains values keeps its original definition; the new constants are defined, with the values upstream gives them, " +
		"in the patched .c files that use them (an enum of a .c file: right after it) " +
		"(refused when an old constant is removed, reordered, or moves and is used)",
	Kinds: []hazard.Kind{hazard.HeaderEnum, hazard.SourceEnum},
	Run:   run,
}

// maxUsers is how many includers the compiler checks for uses of a
// constant that moves (a syntax-only compile each).
const maxUsers = 120

// value is an enumerator's value as C defines it: the expression of the
// last explicit initializer at or before it (or 0), plus a count.
type value struct {
	base string
	plus int
}

func (v value) String() string {
	switch {
	case v.base == "":
		return fmt.Sprint(v.plus)
	case v.plus == 0:
		return v.base
	}
	return fmt.Sprintf("%s + %d", v.base, v.plus)
}

// values computes every enumerator's symbolic value.
func values(e *ast.Enum) map[string]value {
	out := map[string]value{}
	cur := value{plus: -1}
	for _, v := range e.Values {
		if v.Value != "" {
			cur = value{base: v.Value}
		} else {
			cur.plus++
		}
		out[v.Name] = cur
	}
	return out
}

func run(p *rewrite.Pass) error {
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || (e.Kind != hazard.HeaderEnum && e.Kind != hazard.SourceEnum) || ch == nil || ch.Kind != change.EnumChanged || ch.PreEnum == nil || ch.PostEnum == nil {
			continue
		}
		if why, what := one(p, e); why != "" {
			p.RefuseManual(e, why, what)
		}
	}
	return nil
}

// one rewrites one changed enum, or says why not and what the engineer
// does instead.
func one(p *rewrite.Pass, e *rewrite.Entry) (why, what string) {
	ch := e.Change
	fc := p.ChangeOf(e.File)
	if fc == nil || fc.Pre == nil || fc.Post == nil {
		return "no model of " + e.File, "append new values only, and check every object that uses them"
	}
	pre, post := ch.PreEnum, ch.PostEnum
	for _, t := range [][]byte{[]byte(fc.Pre.Text(pre.Span)), []byte(fc.Post.Text(post.Span))} {
		if bytes.Contains(t, []byte("\n#")) {
			return "the enum has #if lines inside", "define the new values in the .c files that use them, or keep the change and check every object that uses the enum"
		}
	}
	oldNames := map[string]bool{}
	for _, v := range pre.Values {
		oldNames[v.Name] = true
	}
	var kept []string
	newNames := map[string]bool{}
	for _, v := range post.Values {
		if oldNames[v.Name] {
			kept = append(kept, v.Name)
		} else {
			newNames[v.Name] = true
		}
	}
	var removed []string
	for _, v := range pre.Values {
		if !slices.Contains(kept, v.Name) {
			removed = append(removed, v.Name)
		}
	}
	if len(removed) > 0 {
		return fmt.Sprintf("the upstream change removes or renames %s: objects keep these values in the running kernel",
				strings.Join(removed, ", ")),
			"keep the old constants with their values and add the new ones after them; then decide what state objects holding the old values are in"
	}
	for i, v := range pre.Values {
		if kept[i] != v.Name {
			return "the upstream change reorders the old constants: " + v.Name + " moves",
				"keep the old order (append new values only), and check every object that uses them"
		}
	}
	oldVal, newVal := values(pre), values(post)
	var moved []string
	for _, v := range pre.Values {
		if oldVal[v.Name] != newVal[v.Name] {
			moved = append(moved, v.Name)
		}
	}
	if len(newNames) == 0 && len(moved) == 0 {
		return "", "" // only spelling: nothing to do here
	}
	if !change.IsHeader(e.File) {
		return inSource(p, e, fc, oldNames, newNames, newVal, moved, oldVal)
	}
	// a moved constant means something else to old code: no file the
	// config builds may use it
	if len(moved) > 0 {
		uses, why := movedUses(p, e.File, moved)
		if why != "" {
			return why, "check every use of " + strings.Join(moved, ", ") + " by hand"
		}
		if len(uses) > 0 {
			return fmt.Sprintf("%s changes value (%s -> %s) and code the config builds uses it: %s",
					moved[0], oldVal[moved[0]], newVal[moved[0]], strings.Join(uses, ", ")),
				"keep " + moved[0] + " at its old value (put the new constants after it) and patch the code that uses it"
		}
	}
	// the new constants go into the patched .c files that use them
	var users []string
	for _, f := range p.Touched() {
		if p.Current[f] == nil || f == e.File || !namesAny(p.Parse(f), newNames) {
			continue
		}
		if !strings.HasSuffix(f, ".c") {
			return fmt.Sprintf("%s, a header of the patch, uses the new constants", f),
				"define the new constants in the .c files that use them"
		}
		users = append(users, f)
	}
	def := definition(fmt.Sprintf(" (%s), with its values; the header keeps the running kernel's definition.", e.File), ch.Name, post, oldNames, newVal, moved)
	for _, f := range users {
		pf := p.Parse(f)
		at := gen.InsertionPoint(pf)
		p.Edit(edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, def)), Why: "new enum constants", Hazard: e.Hazard})
	}
	cur := p.Parse(e.File)
	at := sameEnum(cur, fc.Post.Text(post.Span))
	if at == nil {
		return "another transform changed the enum first", "restore the original enum in the header"
	}
	p.Edit(edit.Edit{File: e.File, Off: at.Span.Off, End: at.Span.End, Text: fc.Pre.Text(pre.Span), Why: "original enum kept", Hazard: e.Hazard})
	how := fmt.Sprintf("the header keeps the original enum; the new constants (%s) are defined with upstream's values in %s",
		strings.Join(sortedNames(post, newNames), ", "), orNone(users))
	if len(moved) > 0 {
		how += fmt.Sprintf("; %s, whose value moves, is used by no file the config builds (the compiler checked)", strings.Join(moved, ", "))
	}
	p.Resolve(e, how)
	return "", ""
}

// definition renders the new constants as an anonymous enum with the
// values upstream's definition gives them; where says where the enum is
// and what keeps the running kernel's definition.
func definition(where, name string, post *ast.Enum, oldNames map[string]bool, newVal map[string]value, moved []string) string {
	var b strings.Builder
	b.WriteString(gen.Comment("", gen.Wrap(fmt.Sprintf("%s: the constants upstream adds to enum %s%s",
		gen.Banner, name, where), 75)...))
	b.WriteString("enum {\n")
	prev := "" // the enumerator before, in upstream's order
	prevNew := false
	for _, v := range post.Values {
		if oldNames[v.Name] {
			prev, prevNew = v.Name, false
			continue
		}
		switch {
		case v.Value != "":
			fmt.Fprintf(&b, "\t%s = %s,\n", v.Name, v.Value)
		case prevNew:
			fmt.Fprintf(&b, "\t%s,\n", v.Name)
		case prev == "":
			fmt.Fprintf(&b, "\t%s = 0,\n", v.Name)
		case slices.Contains(moved, prev):
			// the header keeps prev at its old value: upstream's value
			// of v is counted from the last constant written out
			nv := newVal[v.Name]
			text := fmt.Sprint(nv.plus)
			if nv.base != "" {
				text = fmt.Sprintf("(%s) + %d", nv.base, nv.plus)
			}
			fmt.Fprintf(&b, "\t%s = %s,\n", v.Name, text)
		default:
			fmt.Fprintf(&b, "\t%s = %s + 1,\n", v.Name, prev)
		}
		prev, prevNew = v.Name, true
	}
	b.WriteString("};\n")
	return b.String()
}

// movedUses asks the compiler where files the config builds use the
// constants that move: they are renamed in an overlay copy of the original
// header, and every includer is compiled.
func movedUses(p *rewrite.Pass, header string, moved []string) ([]string, string) {
	if !p.HasCompiler() {
		return nil, "no .config: the compiler cannot tell who uses " + strings.Join(moved, ", ")
	}
	hu, err := p.Env.HeaderUsers(header)
	if err != nil {
		return nil, err.Error()
	}
	if n := len(hu.Candidates()); n > maxUsers {
		return nil, fmt.Sprintf("%d files the config may build include %s (more than %d): too widely used to check every use of %s", n, header, maxUsers, strings.Join(moved, ", "))
	}
	compilable, err := p.Compilable(hu.Candidates())
	if err != nil {
		return nil, err.Error()
	}
	orig := p.Original(header)
	f := ast.Parse(header, orig)
	names := map[string]bool{}
	for _, n := range moved {
		names[n] = true
	}
	var eds []edit.Edit
	for _, x := range f.Enums {
		for _, v := range x.Values {
			if names[v.Name] {
				end := v.Span.Off + len(v.Name)
				eds = append(eds, edit.Edit{File: header, Off: end, End: end, Text: "__kprewrite_moved"})
			}
		}
	}
	poisoned, err := edit.Apply(orig, eds)
	if err != nil {
		return nil, err.Error()
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, err.Error()
	}
	// the files of the patch as rewritten so far: old code and patched
	// code alike must not use a constant that means something else now
	files := p.CurrentFiles()
	files[header] = poisoned
	srcs := compilable
	for _, f := range p.CurrentSources() {
		if !slices.Contains(srcs, f) && p.Env.ObjectOf(f).Kind != kbuild.NotBuilt {
			srcs = append(srcs, f)
		}
	}
	uses, other, err := o.IdentUses(progress.Named(p.Context(), "enums"), files, srcs, names)
	if err == nil {
		err = oracle.MissingInclude(other)
	}
	if err != nil {
		return nil, err.Error()
	}
	var out []string
	for _, u := range uses {
		out = append(out, fmt.Sprintf("%s:%d", u.File, u.Line))
	}
	return out, ""
}

func namesAny(f *ast.File, names map[string]bool) bool {
	for _, t := range f.Tokens {
		if t.Kind == ast.Ident && names[t.Text] {
			return true
		}
	}
	return false
}

func sortedNames(e *ast.Enum, names map[string]bool) []string {
	var out []string
	for _, v := range e.Values {
		if names[v.Name] {
			out = append(out, v.Name)
		}
	}
	return out
}

func orNone(fs []string) string {
	if len(fs) == 0 {
		return "no file (none uses them)"
	}
	return strings.Join(fs, ", ")
}

// maxListed is how many uses of a moved constant a refusal lists.
const maxListed = 8

// inSource rewrites a changed enum of a .c file: the file keeps its
// original enum, and the new constants the file uses are defined right
// after it with upstream's values. A constant whose value moves may have
// no use in the file outside the enum: old code, patched code and the
// objects of the running kernel would all take it for its old value, and
// a new constant may now have that value.
func inSource(p *rewrite.Pass, e *rewrite.Entry, fc *change.File, oldNames, newNames map[string]bool, newVal map[string]value, moved []string, oldVal map[string]value) (why, what string) {
	ch := e.Change
	pre, post := ch.PreEnum, ch.PostEnum
	cur := p.Parse(e.File)
	at := sameEnum(cur, fc.Post.Text(post.Span))
	if at == nil {
		return "another transform changed the enum first", "restore the original enum in " + e.File
	}
	for _, s := range cur.Structs {
		if s.Span.Contains(at.Span.Off) {
			return fmt.Sprintf("the enum is defined inside %s %s", s.Kind, s.Name),
				"keep the old constants with their values and add the new ones after them"
		}
	}
	if fn := cur.FuncAt(at.Span.Off); fn != nil {
		return "the enum is defined inside " + fn.Name + "()", "keep the old constants with their values and add the new ones after them"
	}
	var used, changes []string // the moved constants the file uses
	for _, n := range moved {
		if len(usesIn(cur, at.Span, []string{n})) > 0 {
			used = append(used, n)
			changes = append(changes, fmt.Sprintf("%s (%s -> %s)", n, oldVal[n], newVal[n]))
		}
	}
	if len(used) > 0 {
		uses := usesIn(cur, at.Span, used)
		if len(uses) > maxListed {
			uses = append(uses[:maxListed:maxListed], fmt.Sprintf("%d more", len(uses)-maxListed))
		}
		if len(used) == 1 {
			return fmt.Sprintf("%s changes value (%s -> %s) and the code of %s uses it (objects of the running kernel and its old code hold the old value): %s",
					used[0], oldVal[used[0]], newVal[used[0]], e.File, strings.Join(uses, ", ")),
				"keep " + used[0] + " at its old value (put the new constants after it) and patch the code that uses it"
		}
		return fmt.Sprintf("%s change value and the code of %s uses them (objects of the running kernel and its old code hold the old values): %s",
				strings.Join(changes, ", "), e.File, strings.Join(uses, ", ")),
			"keep " + strings.Join(used, ", ") + " at their old values (put the new constants after the old ones) and patch the code that uses them"
	}
	// the enum goes back to the original; the new constants the file
	// uses follow it
	p.Edit(edit.Edit{File: e.File, Off: at.Span.Off, End: at.Span.End, Text: fc.Pre.Text(pre.Span), Why: "original enum kept", Hazard: e.Hazard})
	var users []string
	if len(usesIn(cur, at.Span, slices.Collect(maps.Keys(newNames)))) > 0 {
		users = append(users, e.File)
		end := at.Span.End
		if i := bytes.IndexByte(cur.Src[end:], ';'); i >= 0 {
			end += i + 1
		}
		ins := ast.LineEnd(cur.Src, end)
		def := definition(", with its values; the enum above keeps the running kernel's definition.", ch.Name, post, oldNames, newVal, moved)
		p.Edit(edit.Edit{File: e.File, Off: ins, End: ins, Text: gen.Styled(e.File, gen.InsertText(cur.Src, ins, def)), Why: "new enum constants", Hazard: e.Hazard})
	}
	how := fmt.Sprintf("%s keeps the original enum; the new constants (%s) are defined with upstream's values %s",
		e.File, strings.Join(sortedNames(post, newNames), ", "), map[bool]string{true: "right after it", false: "nowhere (the file does not use them)"}[len(users) > 0])
	if len(moved) > 0 {
		how += fmt.Sprintf("; %s, whose value moves, is used nowhere else in the file", strings.Join(moved, ", "))
	}
	p.Resolve(e, how)
	return "", ""
}

// usesIn returns "file:line" for each line of f outside skip that names
// one of names, in code or in a preprocessor line.
func usesIn(f *ast.File, skip ast.Span, names []string) []string {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	var out []string
	last := 0
	for _, t := range f.Tokens {
		if skip.Contains(t.Off) || (t.Kind != ast.Ident && t.Kind != ast.Directive) {
			continue
		}
		if !ast.NamesAny([]ast.Token{t}, set) {
			continue
		}
		if l := f.Line(t.Off); l != last {
			out = append(out, fmt.Sprintf("%s:%d", f.Name, l))
			last = l
		}
	}
	return out
}

// sameEnum returns the enum of f whose text is text (upstream's, where no
// other transform changed it), or nil.
func sameEnum(f *ast.File, text string) *ast.Enum {
	for _, x := range f.Enums {
		if f.Text(x.Span) == text {
			return x
		}
	}
	return nil
}
