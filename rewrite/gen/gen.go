// Package gen holds what the transforms share for generating C: where to
// put generated code in a .c file, how to undo part of a header change, and
// the comment that marks generated code.
package gen

import (
	"bytes"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/patch"
)

// Banner starts the first line of every generated block's comment
// ("kprewrite: struct slave.x in spare bits."); the next line says it was
// generated for livepatching.
const Banner = "kprewrite"

// Generated is the line that follows the banner line.
const Generated = "Generated for livepatching."

// InsertionPoint returns the offset in f where generated definitions go:
// after the last #include of the leading include block (the last one
// before the first function definition; kernel files sometimes include
// more further down), or after the leading comment.
func InsertionPoint(f *ast.File) int {
	at := -1
	firstFunc := len(f.Src)
	if len(f.Funcs) > 0 {
		firstFunc = f.Funcs[0].Span.Off
	}
	for _, inc := range f.Includes {
		if inc.Span.Off > firstFunc {
			break
		}
		if !atFileScope(f, inc.Span.Off) {
			// kernel/sched/core.c: "sysctl_sched_features =\n#include
			// "features.h"\n0;" includes a list into an initializer
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
	// between two blank lines there (a file's own double blank line), so
	// the generated block gets one blank line on each side, not two after
	if at+1 < len(f.Src) && f.Src[at] == '\n' && f.Src[at+1] == '\n' {
		at++
	}
	return at
}

// AfterDefinitions returns at, or a later offset of f when f defines a
// struct, union or enum that code names after at and before the first
// function after at (a new enum header2c moved into the file, whose
// accessors come after it): the end of the line that ends the last such
// definition.
func AfterDefinitions(f *ast.File, at int, code string) int {
	out := at
	limit := len(f.Src)
	for _, fn := range f.Funcs {
		if fn.Span.Off >= at {
			limit = fn.Span.Off
			break
		}
	}
	end := func(span ast.Span) {
		e := span.End
		for e < len(f.Src) && f.Src[e] != '\n' {
			e++
		}
		if e < len(f.Src) {
			e++
		}
		if e > out {
			out = e
		}
	}
	// the identifiers of code, those of its directives' bodies too (as
	// ast.NamesAny reads them), gathered once
	idents := map[string]bool{}
	var gather func(src string)
	gather = func(src string) {
		for _, t := range ast.Tokenize([]byte(src)) {
			switch t.Kind {
			case ast.Ident:
				idents[t.Text] = true
			case ast.Directive:
				gather(t.Text[1:])
			}
		}
	}
	gather(code)
	names := func(kind, tag string) bool {
		return tag != "" && idents[tag] && strings.Contains(code, kind+" "+tag)
	}
	for _, e := range f.Enums {
		if e.Span.Off >= at && e.Span.End <= limit && atFileScope(f, e.Span.Off) && names("enum", e.Name) {
			end(e.Span)
		}
	}
	for _, s := range f.Structs {
		if s.Span.Off >= at && s.Span.End <= limit && atFileScope(f, s.Span.Off) && names(s.Kind, s.Name) {
			end(s.Span)
		}
	}
	return out
}

// atFileScope reports whether off is between file-scope declarations:
// the code before it ends with ";" or "}" (or there is none), not inside
// an initializer, a struct or a function.
func atFileScope(f *ast.File, off int) bool {
	toks := f.CodeTokens(ast.Span{Off: 0, End: off})
	if len(toks) == 0 {
		return true
	}
	last := toks[len(toks)-1].Text
	if last != ";" && last != "}" {
		return false
	}
	depth := 0
	for _, t := range toks {
		switch t.Text {
		case "{":
			depth++
		case "}":
			depth--
		}
	}
	return depth == 0
}

// Join puts generated blocks one after the other, a blank line apart.
func Join(codes []string) string {
	var parts []string
	for _, c := range codes {
		if c = strings.Trim(c, "\n"); c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "\n\n")
}

// InsertText returns code as it must be inserted at offset at of src: with
// exactly one blank line before and after it.
func InsertText(src []byte, at int, code string) string {
	code = strings.Trim(code, "\n")
	if code == "" {
		return ""
	}
	out := code + "\n"
	// a blank line before, unless the line before is already blank
	if !(at >= 2 && src[at-1] == '\n' && src[at-2] == '\n') && at > 0 {
		out = "\n" + out
	}
	// and after, unless the text there starts with one
	if !(at < len(src) && src[at] == '\n') {
		out += "\n"
	}
	return out
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

// RestoreLines returns cur with the given 1-based lines of pre that the
// change from pre to cur deletes put back where they were, every other
// change (insertions, other deletions) kept: a deleted line comes back
// before the lines its change block inserts.
//
// A deleted block whose first line equals the line after it (or whose
// last line equals the line before it) can be read at more than one
// place; it is read where it ends with a blank line, as the block of
// declarations and comments it usually is: a removed "/** doc */ decl;"
// before another "/**" comment is then the whole item, and a line put
// back lands between items, not inside the next one's comment.
func RestoreLines(pre, cur []byte, lines map[int]bool) []byte {
	d := patch.Diff("f", pre, cur)
	if d == nil {
		return cur
	}
	for _, h := range d.Hunks {
		h.Lines = slideDeletions(h.Lines)
	}
	old := strings.SplitAfter(string(pre), "\n")
	var b strings.Builder
	o := 0 // old lines consumed
	for _, h := range d.Hunks {
		start := h.OldStart - 1
		if h.OldLines == 0 {
			start = h.OldStart
		}
		for ; o < start && o < len(old); o++ {
			b.WriteString(old[o])
		}
		var ins []string
		flush := func() {
			for _, l := range ins {
				b.WriteString(l)
			}
			ins = nil
		}
		for _, l := range h.Lines {
			text := l.Text
			if !l.NoNewline {
				text += "\n"
			}
			switch l.Op {
			case patch.Context:
				flush()
				b.WriteString(text)
				o++
			case patch.Delete:
				if lines[o+1] {
					b.WriteString(text)
				}
				o++
			case patch.Insert:
				ins = append(ins, text)
			}
		}
		flush()
	}
	for ; o < len(old); o++ {
		b.WriteString(old[o])
	}
	return []byte(b.String())
}

// slideDeletions returns hunk lines with every run of deleted lines
// between two context lines moved, where equal lines allow it, to the
// place where its last line is blank (the nearest to where the diff put
// it). The lines of the old and the new text are the same at every
// place: only which of the equal lines counts as deleted changes.
func slideDeletions(in []patch.Line) []patch.Line {
	lines := slices.Clone(in)
	for i := 0; i < len(lines); {
		if lines[i].Op != patch.Delete {
			i++
			continue
		}
		j := i
		for j < len(lines) && lines[j].Op == patch.Delete {
			j++
		}
		// lines[i:j] is the run; only a pure deletion between context
		// lines slides
		if i == 0 || j == len(lines) || lines[i-1].Op != patch.Context || lines[j].Op != patch.Context {
			i = j
			continue
		}
		blank := func(k int) bool { return strings.TrimSpace(lines[k].Text) == "" }
		if blank(j - 1) {
			i = j
			continue
		}
		best := 0 // the shift (negative: up) that ends the run with a blank line
		for up := 1; i-up >= 0 && lines[i-up].Op == patch.Context && lines[i-up].Text == lines[j-up].Text; up++ {
			if blank(j - 1 - up) {
				best = -up
				break
			}
		}
		if best == 0 {
			for down := 1; j+down-1 < len(lines) && lines[j+down-1].Op == patch.Context && lines[j+down-1].Text == lines[i+down-1].Text; down++ {
				if blank(j - 1 + down) {
					best = down
					break
				}
			}
		}
		if best != 0 {
			for k := i; k < j; k++ {
				lines[k].Op = patch.Context
			}
			for k := i + best; k < j+best; k++ {
				lines[k].Op = patch.Delete
			}
		}
		i = j + max(best, 0)
	}
	return lines
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

// visualCol returns the 0-based column of off, with tabs every 8 columns.
func visualCol(src []byte, off int) int {
	start := off
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	col := 0
	for i := start; i < off; i++ {
		if src[i] == '\t' {
			col = col/8*8 + 8
		} else {
			col++
		}
	}
	return col
}

// Realign returns edits that keep the continuation lines of the
// parenthesised list opening at paren aligned with it after the text
// before the parenthesis grows by delta columns (kernel style aligns
// arguments with the open parenthesis). Lines aligned otherwise are kept.
func Realign(src []byte, paren, delta int) []edit.Edit {
	if delta == 0 || paren >= len(src) || src[paren] != '(' {
		return nil
	}
	toks := ast.Tokenize(src[paren:])
	depth, close := 0, -1
	for _, t := range toks {
		if t.Text == "(" && t.Kind == ast.Punct {
			depth++
		} else if t.Text == ")" && t.Kind == ast.Punct {
			depth--
			if depth == 0 {
				close = paren + t.Off
				break
			}
		}
	}
	if close < 0 {
		return nil
	}
	argCol := visualCol(src, paren) + 1
	var out []edit.Edit
	for i := paren; i < close; i++ {
		if src[i] != '\n' {
			continue
		}
		ls := i + 1
		le := ls
		for le < len(src) && (src[le] == ' ' || src[le] == '\t') {
			le++
		}
		if visualCol(src, le) != argCol {
			continue
		}
		w := argCol + delta
		out = append(out, edit.Edit{Off: ls, End: le, Text: strings.Repeat("\t", w/8) + strings.Repeat(" ", w%8)})
	}
	return out
}

// MaxColumns is the line width checkpatch allows.
const MaxColumns = 100

// CastCallee returns the edits that call the expression src[off:end]
// through a cast to the function-pointer type typ: "((typ)" before it and
// ")" after it, with the call's continuation lines realigned to its
// parenthesis. When the line would pass MaxColumns, the cast ends the line
// and the expression continues one tab further in:
//
//	return ((snd_sof_dsp_ops_set_stream_data_offset_lp_t)
//		sof_ops(sdev)->set_stream_data_offset)(sdev, sps,
//							       posn_offset);
func CastCallee(src []byte, off, end int, typ string) []edit.Edit {
	paren := end
	for paren < len(src) && (src[paren] == ' ' || src[paren] == '\t') {
		paren++
	}
	cast := "((" + typ + ")"
	lineEnd := off
	for lineEnd < len(src) && src[lineEnd] != '\n' {
		lineEnd++
	}
	delta := len(cast) + 1
	if visualCol(src, lineEnd)+delta > MaxColumns && !bytes.Contains(src[off:end], []byte("\n")) {
		ls := ast.LineStart(src, off)
		le := ls
		for le < off && (src[le] == ' ' || src[le] == '\t') {
			le++
		}
		indent := string(src[ls:le]) + "\t"
		cast += "\n" + indent
		// the parenthesis moves to the new line, after the expression
		// and the cast's closing ")"
		delta = visualCol([]byte(indent), len(indent)) + visualCol(src[off:], paren-off) + 1 - visualCol(src, paren)
	}
	out := []edit.Edit{{Off: off, End: off, Text: cast}, {Off: end, End: end, Text: ")"}}
	return append(out, Realign(src, paren, delta)...)
}

// Styled adapts generated code to the file it goes into: under net/ and
// drivers/net/ block comments start on the "/*" line (checkpatch's
// NETWORKING_BLOCK_COMMENT_STYLE).
func Styled(path, code string) string {
	if !strings.HasPrefix(path, "net/") && !strings.HasPrefix(path, "drivers/net/") {
		return code
	}
	return strings.ReplaceAll(code, "/*\n * ", "/* ")
}

// StaticAssert renders a static_assert line; a line longer than 100
// columns is wrapped after its first comparison operator, the way the
// kernel wraps long asserts.
func StaticAssert(cond string) string {
	line := "static_assert(" + cond + ");\n"
	if len(line) <= MaxColumns {
		return line
	}
	at, op := -1, ""
	for _, o := range []string{" <= ", " >= ", " == ", " < ", " > "} {
		if i := strings.Index(cond, o); i > 0 && (at < 0 || i < at) {
			at, op = i, o
		}
	}
	if at < 0 {
		return line
	}
	return "static_assert(" + cond[:at] + op[:len(op)-1] + "\n\t      " + cond[at+len(op):] + ");\n"
}

// Include returns the edit that adds an #include line ("#include
// <linux/livepatch.h>") to f, or false when f already includes that file.
// The one rule for where: after the last system include outside a function
// for a system header (<...>), after the last include outside a function
// for a local one ("..."); at the start of the file when there is none.
func Include(f *ast.File, line string) (edit.Edit, bool) {
	line = strings.TrimSpace(line)
	system, path := IncludePath(line)
	for _, inc := range f.Includes {
		if inc.Path == path {
			return edit.Edit{}, false
		}
	}
	at := 0
	for _, inc := range f.Includes {
		// not one inside an initializer (kernel/sched/topology.c's
		// "SD_DEGENERATE_GROUPS_MASK =\n#include <linux/sched/sd_flags.h>")
		if f.FuncAt(inc.Span.Off) == nil && atFileScope(f, inc.Span.Off) && (inc.System || !system) {
			at = inc.Span.End
		}
	}
	if at > 0 {
		return edit.Edit{File: f.Name, Off: at, End: at, Text: "\n" + line, Why: "include"}, true
	}
	// no #include at file scope (kernel/sched/rt.c, which build_policy.c
	// includes): after the file's leading comments (its SPDX line first)
	for _, t := range f.Tokens {
		if t.Kind != ast.Comment {
			break
		}
		at = t.End
	}
	if at == 0 {
		return edit.Edit{File: f.Name, Off: 0, End: 0, Text: line + "\n", Why: "include"}, true
	}
	for at < len(f.Src) && f.Src[at] != '\n' {
		at++
	}
	if at < len(f.Src) {
		at++ // the line after the comments
	}
	text := "\n" + line + "\n"
	if at < len(f.Src) && f.Src[at] != '\n' {
		text += "\n"
	}
	return edit.Edit{File: f.Name, Off: at, End: at, Text: text, Why: "include"}, true
}

// IncludePath returns whether an #include line names a system header and
// the path it names.
func IncludePath(line string) (bool, string) {
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), "include"))
	if len(rest) >= 2 && rest[0] == '<' {
		if i := strings.IndexByte(rest, '>'); i > 0 {
			return true, rest[1:i]
		}
	}
	if len(rest) >= 2 && rest[0] == '"' {
		if i := strings.IndexByte(rest[1:], '"'); i >= 0 {
			return false, rest[1 : i+1]
		}
	}
	return true, rest
}

// Call renders "head(arg, arg, ...)tail" in kernel style: on one line when
// it fits MaxColumns, otherwise with the arguments that do not fit moved
// to continuation lines aligned after the '(' (two more tabs when that
// column is too far right for them). indent starts the first line; tail
// follows the ')' (";", " {", "").
func Call(indent, head string, args []string, tail string) string {
	one := indent + head + "(" + strings.Join(args, ", ") + ")" + tail
	if width(one) <= MaxColumns {
		return one
	}
	col := width(indent + head + "(")
	cont := strings.Repeat("\t", col/8) + strings.Repeat(" ", col%8)
	longest := 0
	for _, a := range args[min(1, len(args)):] {
		longest = max(longest, len(a)+2)
	}
	if col+longest > MaxColumns {
		cont = indent + "\t\t"
	}
	var b strings.Builder
	line := indent + head + "("
	for i, a := range args {
		piece := a + ","
		if i == len(args)-1 {
			piece = a + ")" + tail
		}
		switch {
		case i == 0 && width(line+piece) > MaxColumns:
			// not even the first argument fits after the '('
			b.WriteString(line + "\n")
			line = indent + "\t\t" + piece
		case i == 0:
			line += piece
		case width(line+" "+piece) > MaxColumns:
			b.WriteString(line + "\n")
			line = cont + piece
		default:
			line += " " + piece
		}
	}
	b.WriteString(line)
	return b.String()
}

// width is the number of columns the last line of s takes, tabs to the
// next multiple of eight.
func width(s string) int {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return visualCol([]byte(s+"\n"), len(s))
}

// Signature renders a function's head, "ret name(params)", in kernel
// style: the return type goes on a line of its own when the name and the
// first parameter would not fit after it.
func Signature(ret, name string, params []string) string {
	sep := " "
	if strings.HasSuffix(ret, "*") {
		sep = ""
	}
	first := ret + sep + name + "(" + params[0] + ","
	if len(params) == 1 {
		first = ret + sep + name + "(" + params[0] + ")"
	}
	if width(first) <= MaxColumns {
		return Call("", ret+sep+name, params, "")
	}
	return strings.TrimSuffix(ret, " ") + "\n" + Call("", name, params, "")
}
