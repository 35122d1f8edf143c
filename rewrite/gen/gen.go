// Package gen holds what the transforms share for generating C: where to
// put generated code in a .c file, how to undo part of a header change, and
// the comment that marks generated code.
package gen

import (
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/patch"
)

// Banner is the first line of every generated block's comment.
const Banner = "kprewrite: generated for livepatching"

// InsertionPoint returns the offset in f where generated definitions go:
// after the last #include at file scope, or after the leading comment.
func InsertionPoint(f *ast.File) int {
	at := -1
	for _, inc := range f.Includes {
		if f.FuncAt(inc.Span.Off) != nil {
			continue
		}
		at = inc.Span.End
	}
	if at < 0 {
		for _, t := range f.Tokens {
			if t.Kind != ast.Comment {
				break
			}
			at = t.End
		}
	}
	if at < 0 {
		return 0
	}
	// after the end of that line
	for at < len(f.Src) && f.Src[at] != '\n' {
		at++
	}
	if at < len(f.Src) {
		at++
	}
	return at
}

// Block formats generated code for insertion at an InsertionPoint: a blank
// line before it and after it.
func Block(code string) string {
	return "\n" + strings.TrimRight(code, "\n") + "\n"
}

// Comment renders a kernel-style block comment.
func Comment(indent string, lines ...string) string {
	var b strings.Builder
	b.WriteString(indent + "/*\n")
	for _, l := range lines {
		if l == "" {
			b.WriteString(indent + " *\n")
		} else {
			b.WriteString(indent + " * " + l + "\n")
		}
	}
	b.WriteString(indent + " */\n")
	return b.String()
}

// Wrap breaks text into lines of at most width columns.
func Wrap(text string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			out = append(out, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// RevertLines returns cur with every change (relative to pre) that touches
// one of the given 1-based lines of cur undone: those lines go back to what
// pre had there. Other changes stay.
func RevertLines(pre, cur []byte, lines map[int]bool) []byte {
	d := patch.Diff("f", pre, cur)
	if d == nil {
		return cur
	}
	// Split the hunks into change blocks (runs of - and + lines), each
	// with the line of the new file where it starts.
	var keep []*patch.Hunk
	for _, h := range d.Hunks {
		n := h.NewStart
		if h.NewLines == 0 {
			n++
		}
		var block *patch.Hunk
		hit := false
		flush := func() {
			if block != nil && hit {
				keep = append(keep, block)
			}
			block, hit = nil, false
		}
		for _, l := range h.Lines {
			if l.Op == patch.Context {
				flush()
				n++
				continue
			}
			if block == nil {
				block = &patch.Hunk{NewStart: n}
			}
			block.Lines = append(block.Lines, l)
			if lines[n] {
				hit = true // an insertion on the line, or a deletion just before it
			}
			if l.Op == patch.Insert {
				n++
			}
		}
		flush()
	}
	if len(keep) == 0 {
		return cur
	}
	out := string(cur)
	// Undo from the bottom so earlier positions stay valid.
	for i := len(keep) - 1; i >= 0; i-- {
		out = undo(out, keep[i])
	}
	return []byte(out)
}

// undo replaces the inserted lines of block (starting at its NewStart) by
// its deleted lines.
func undo(text string, block *patch.Hunk) string {
	lines := strings.SplitAfter(text, "\n")
	start := block.NewStart - 1
	var ins, del []string
	for _, l := range block.Lines {
		switch l.Op {
		case patch.Insert:
			ins = append(ins, l.Text)
		case patch.Delete:
			del = append(del, l.Text)
		}
	}
	if start < 0 || start+len(ins) > len(lines) {
		return text
	}
	var b strings.Builder
	for _, l := range lines[:start] {
		b.WriteString(l)
	}
	for _, l := range del {
		b.WriteString(l + "\n")
	}
	for _, l := range lines[start+len(ins):] {
		b.WriteString(l)
	}
	return b.String()
}

// LinesOf returns the set of 1-based lines a span covers.
func LinesOf(f *ast.File, s ast.Span) map[int]bool {
	out := map[int]bool{}
	for l := f.Line(s.Off); l <= f.Line(max(s.Off, s.End-1)); l++ {
		out[l] = true
	}
	return out
}
