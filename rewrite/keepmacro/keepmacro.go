// Package keepmacro is the transform for a macro the upstream change
// removes from a header: its definition stays where it was.
//
// Before (upstream):	-#define DP_EDP_15			    0x31	/* eDP 1.5 */
// After (rewritten):	the header hunk is gone: the macro stays defined,
//
//	unused by the patched code.
//
// Code that compiles upstream, without the macro, cannot use it, so
// keeping it defined changes no token of any unit, with one exception: a
// directive that asks whether it is defined (#ifdef, defined(), #if NAME)
// or defines it again. The transform scans every source file of the tree
// and the patch's post-images for such a directive; with none, the
// includers of the header compile as the running kernel's did and the
// patched files as upstream's, and the header needs no change a livepatch
// cannot make. With one, the finding stays to an engineer, who sees where.
package keepmacro

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

// Transform is the keepmacro transform.
var Transform = &rewrite.Transform{
	Name:  "keepmacro",
	Doc:   "a macro the upstream change removes from a header stays defined there when no directive in the tree asks whether it is defined: code that compiles without it cannot use it",
	Kinds: []hazard.Kind{hazard.HeaderMacro},
	Run:   run,
}

// maxShown is how many directives a refusal names.
const maxShown = 3

func run(p *rewrite.Pass) error {
	byHeader := map[string][]*rewrite.Entry{}
	var names []string
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || !e.NeedsHuman() || ch == nil || ch.Kind != change.MacroRemoved || !change.IsHeader(e.File) {
			continue
		}
		byHeader[e.File] = append(byHeader[e.File], e)
		if !slices.Contains(names, ch.Name) {
			names = append(names, ch.Name)
		}
	}
	if len(byHeader) == 0 {
		return nil
	}
	if p.Env == nil {
		for _, es := range byHeader {
			for _, e := range es {
				p.Refuse(e, "without the kernel tree nothing shows that no directive asks whether the macro is defined")
			}
		}
		return nil
	}
	mentions, err := p.Env.DirectiveMentions(names)
	if err != nil {
		return err // the tree could not be read: no evidence either way
	}
	nameRE := namesRE(names)
	for _, h := range slices.Sorted(maps.Keys(byHeader)) {
		fc := p.ChangeOf(h)
		if fc == nil || fc.Pre == nil {
			continue
		}
		lines := map[int]bool{}
		var kept []*rewrite.Entry
		for _, e := range byHeader[h] {
			name := e.Change.Name
			def := fc.Pre.Macro(name)
			if def == nil {
				p.Refuse(e, "the original definition is not found in "+h)
				continue
			}
			if n := len(fc.Pre.Definitions(name)) + countMacros(fc.Pre, name); n != 1 {
				p.Refuse(e, fmt.Sprintf("%s has %d definitions in %s: which one a unit sees depends on its #if context", name, n, h))
				continue
			}
			own := gen.LinesOf(fc.Pre, def.Span)
			if !restores(p, h, fc.Pre, def, own) {
				// the patch removed the #if around it too: put that back
				maps.Copy(own, enclosing(fc.Pre, fc.Pre.Line(def.Span.Off)))
				if !restores(p, h, fc.Pre, def, own) {
					p.Refuse(e, fmt.Sprintf("the #if context of %s's definition changes in %s: put back, it would not be under the conditions it had", name, h))
					continue
				}
			}
			if where := otherDirectives(p, name, mentions[name], nameRE); len(where) > 0 {
				shown := where
				if len(shown) > maxShown {
					shown = append(slices.Clone(shown[:maxShown]), fmt.Sprintf("%d more", len(where)-maxShown))
				}
				p.Refuse(e, fmt.Sprintf("a directive asks whether %s is defined or defines it (%s): keeping it defined would choose other code there", name, strings.Join(shown, ", ")))
				continue
			}
			maps.Copy(lines, own)
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			continue
		}
		cur := p.File(h)
		reverted := gen.RestoreLines(p.Original(h), cur, lines)
		for _, ed := range edit.Diff(h, cur, reverted) {
			ed.Why, ed.Hazard = "removed macro kept", kept[0].Hazard
			p.Edit(ed)
		}
		for _, e := range kept {
			p.Resolve(e, fmt.Sprintf("%s stays defined in %s, as in the running kernel: no directive in the tree asks whether it is defined, and code that compiles without it cannot use it", e.Change.Name, h))
		}
	}
	return nil
}

// otherDirectives returns the directives that name the macro besides its
// definition, which the header's post-image no longer has: in the tree's
// files the patch does not change and in the patch's post-images.
func otherDirectives(p *rewrite.Pass, name string, inTree []string, nameRE *regexp.Regexp) []string {
	var out []string
	for _, w := range inTree {
		file, _, _ := strings.Cut(w, ":")
		if _, patched := p.Current[file]; patched {
			continue // its post-image is what the livepatch compiles
		}
		out = append(out, w)
	}
	for _, f := range slices.Sorted(maps.Keys(p.Current)) {
		for _, m := range kbuild.DirectiveLines(p.File(f), nameRE) {
			if m.Name == name {
				out = append(out, fmt.Sprintf("%s:%d", f, m.Line))
			}
		}
	}
	return out
}

// namesRE matches any of names as an identifier.
func namesRE(names []string) *regexp.Regexp {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return regexp.MustCompile(`\b(` + strings.Join(quoted, "|") + `)\b`)
}

// restores reports whether putting back the pre-image lines own into the
// header's current text gives the macro its original definition under
// its original #if conditions.
func restores(p *rewrite.Pass, h string, pre *ast.File, def *ast.Macro, own map[int]bool) bool {
	back := ast.Parse(h, gen.RestoreLines(p.Original(h), p.File(h), own))
	bd := back.Macro(def.Name)
	return bd != nil && back.Text(bd.Span) == pre.Text(def.Span) && back.CondAt(bd.Span.Off).String() == pre.CondAt(def.Span.Off).String()
}

// enclosing returns the lines of the conditional directives (#if...,
// #elif, #else, #endif) of every group around line in f, the include
// guard's excepted.
func enclosing(f *ast.File, line int) map[int]bool {
	type group struct{ lines []int }
	var stack []*group
	var around []*group
	out := map[int]bool{}
	src := strings.Split(string(f.Src), "\n")
	for i, l := range src {
		n := i + 1
		if n == line {
			around = slices.Clone(stack)
		}
		d := strings.TrimLeft(l, " \t")
		if !strings.HasPrefix(d, "#") {
			continue
		}
		word := strings.Fields(strings.TrimLeft(d[1:], " \t") + " ")
		if len(word) == 0 {
			continue
		}
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
	for _, g := range around {
		for _, n := range g.lines {
			out[n] = true
		}
	}
	return out
}

// countMacros counts the #define lines of name in f.
func countMacros(f *ast.File, name string) int {
	n := 0
	for _, m := range f.Macros {
		if m.Name == name {
			n++
		}
	}
	return n
}
