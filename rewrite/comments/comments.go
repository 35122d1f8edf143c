// Package comments is the transform that drops comment-only and
// blank-line-only changes from headers, and changes that only respell an
// integer type ("unsigned len" -> "unsigned int len"). Such a change buys a livepatch
// nothing, but it moves every later line of the header, and with it
// __LINE__ (WARN_ON, BUG_ON, lockdep keys, pr_* call sites) in the
// header's inline functions and macros in every file that includes it: the
// builder then sees changed functions the fix does not change.
//
// Before (upstream):	+ * @ntunnels: Number of tunnels established
// After (rewritten):	the kernel-doc line is gone; the struct change stays.
//
// It runs last, on what the other transforms left, and drops a run of
// changed lines only when neither side of it holds a code token, or when
// both sides hold the same code once integer types are spelled one way
// (change.CanonCode: the compiler reads one type); the report says which
// lines it dropped.
package comments

import (
	"fmt"
	"path"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the comments transform.
var Transform = &rewrite.Transform{
	Name: "comments",
	Doc:  "comment-only and blank-line changes in headers are dropped: they move __LINE__ in every includer and change nothing else",
	Run:  run,
}

func run(p *rewrite.Pass) error {
	for _, f := range p.Touched() {
		if path.Ext(f) != ".h" {
			continue
		}
		old, cur := p.Original(f), p.Current[f]
		if old == nil || cur == nil {
			continue
		}
		reverts, lines, respelled := commentOnly(f, old, cur)
		if len(reverts) == 0 {
			continue
		}
		kind := "comment-only"
		if respelled > 0 {
			kind = "comment-only or respelling"
		}
		for _, e := range reverts {
			e.Why = kind + " change dropped"
			p.Edit(e)
		}
		what := "a " + kind + " change at line " + joinInts(lines) + " dropped: it changes"
		if len(reverts) > 1 {
			what = fmt.Sprintf("%d %s changes at lines %s dropped: they change", len(reverts), kind, joinInts(lines))
		}
		only := " only comments or blank lines"
		if respelled > 0 {
			only = " only comments, blank lines or how code is spelled (an integer type respelled: \"unsigned\" for \"unsigned int\")"
		}
		p.Note(rewrite.Finding{File: f, Line: lines[0], Subject: f,
			Reason: what + only + ", and would move every later line of the header (and __LINE__ in its inlines in every includer)"})
	}
	return nil
}

// commentOnly returns the edits of cur that undo each run of changed lines
// between old and cur whose lines hold no code token on either side, and
// the first line (in cur) of each.
func commentOnly(file string, old, cur []byte) (edits []edit.Edit, lines []int, respelled int) {
	po, pc := ast.Parse(file, old), ast.Parse(file, cur)
	codeOld, codeCur := codeLines(po), codeLines(pc)
	var out []edit.Edit
	delta := 0 // cur offset minus old offset, before the current run
	for _, d := range edit.Diff(file, old, cur) {
		cOff := d.Off + delta
		cEnd := cOff + len(d.Text)
		delta += len(d.Text) - (d.End - d.Off)
		if hasCode(codeOld, po, d.Off, d.End) || hasCode(codeCur, pc, cOff, cEnd) {
			if codeIn(po, d.Off, d.End) != codeIn(pc, cOff, cEnd) {
				continue // a code change
			}
			respelled++
		}
		out = append(out, edit.Edit{File: file, Off: cOff, End: cEnd, Text: string(old[d.Off:d.End])})
		lines = append(lines, pc.Line(min(cOff, max(len(cur)-1, 0))))
	}
	if len(out) == 0 {
		return nil, nil, 0
	}
	// the code of the result must be the code of cur, token for token
	res, err := edit.Apply(cur, out)
	if err != nil || change.CanonCode(ast.Parse(file, res).Tokens) != change.CanonCode(pc.Tokens) {
		return nil, nil, 0
	}
	return out, lines, respelled
}

// codeLines marks the 1-based lines of f that hold a code token.
func codeLines(f *ast.File) map[int]bool {
	out := map[int]bool{}
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment {
			continue
		}
		for l := f.Line(t.Off); l <= f.Line(max(t.Off, t.End-1)); l++ {
			out[l] = true
		}
	}
	return out
}

// hasCode reports whether a line of [off, end) holds a code token.
func hasCode(code map[int]bool, f *ast.File, off, end int) bool {
	if off >= end {
		return false
	}
	for l := f.Line(off); l <= f.Line(end-1); l++ {
		if code[l] {
			return true
		}
	}
	return false
}

// codeIn is the code of the tokens that start in [off, end) of f, integer
// types spelled one way (change.CanonCode).
func codeIn(f *ast.File, off, end int) string {
	var toks []ast.Token
	for _, t := range f.Tokens {
		if t.Off >= off && t.Off < end {
			toks = append(toks, t)
		}
	}
	return change.CanonCode(toks)
}

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprint(n))
	}
	if len(s) > 1 {
		return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
	}
	return s[0]
}
