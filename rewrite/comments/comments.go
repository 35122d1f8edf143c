// Package comments is the transform that drops comment-only and
// blank-line-only changes from headers. Such a change buys a livepatch
// nothing, but it moves every later line of the header, and with it
// __LINE__ (WARN_ON, BUG_ON, lockdep keys, pr_* call sites) in the
// header's inline functions and macros in every file that includes it: the
// builder then sees changed functions the fix does not change.
//
// Before (upstream):	+ * @ntunnels: Number of tunnels established
// After (rewritten):	the kernel-doc line is gone; the struct change stays.
//
// It runs last, on what the other transforms left, and drops a run of
// changed lines only when neither side of it holds a code token; the
// report says which lines it dropped.
package comments

import (
	"fmt"
	"path"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
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
		reverts, lines := commentOnly(f, old, cur)
		if len(reverts) == 0 {
			continue
		}
		for _, e := range reverts {
			e.Why = "comment-only change dropped"
			p.Edit(e)
		}
		what := "a comment-only change at line " + joinInts(lines) + " dropped: it changes"
		if len(reverts) > 1 {
			what = fmt.Sprintf("%d comment-only changes at lines %s dropped: they change", len(reverts), joinInts(lines))
		}
		p.Note(rewrite.Finding{File: f, Line: lines[0], Subject: f,
			Reason: what + " only comments or blank lines, and would move every later line of the header (and __LINE__ in its inlines in every includer)"})
	}
	return nil
}

// commentOnly returns the edits of cur that undo each run of changed lines
// between old and cur whose lines hold no code token on either side, and
// the first line (in cur) of each.
func commentOnly(file string, old, cur []byte) ([]edit.Edit, []int) {
	po, pc := ast.Parse(file, old), ast.Parse(file, cur)
	codeOld, codeCur := codeLines(po), codeLines(pc)
	var out []edit.Edit
	var lines []int
	delta := 0 // cur offset minus old offset, before the current run
	for _, d := range edit.Diff(file, old, cur) {
		cOff := d.Off + delta
		cEnd := cOff + len(d.Text)
		delta += len(d.Text) - (d.End - d.Off)
		if hasCode(codeOld, po, d.Off, d.End) || hasCode(codeCur, pc, cOff, cEnd) {
			continue
		}
		out = append(out, edit.Edit{File: file, Off: cOff, End: cEnd, Text: string(old[d.Off:d.End])})
		lines = append(lines, pc.Line(min(cOff, max(len(cur)-1, 0))))
	}
	if len(out) == 0 {
		return nil, nil
	}
	// the code of the result must be the code of cur, token for token
	res, err := edit.Apply(cur, out)
	if err != nil || codeText(ast.Parse(file, res)) != codeText(pc) {
		return nil, nil
	}
	return out, lines
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

// codeText is the file's code tokens, comments left out.
func codeText(f *ast.File) string {
	var b strings.Builder
	for _, t := range f.Tokens {
		if t.Kind == ast.Comment {
			continue
		}
		b.WriteString(t.Text)
		b.WriteByte(' ')
	}
	return b.String()
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
