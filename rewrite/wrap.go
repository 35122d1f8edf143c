package rewrite

import (
	"bytes"
	"strings"
)

// maxColumns is the line length checkpatch.pl warns beyond.
const maxColumns = 100

// columns is the display width of a line with 8-column tabs.
func columns(s string) int {
	c := 0
	for _, r := range s {
		if r == '\t' {
			c += 8 - c%8
		} else {
			c++
		}
	}
	return c
}

// indentTo is kernel-style indentation to column col: tabs, then spaces.
func indentTo(col int) string {
	return strings.Repeat("\t", col/8) + strings.Repeat(" ", col%8)
}

// wrapLine breaks a C line that an edit made longer than maxColumns after
// an argument's comma or a binary operator, aligning the continuation with
// the innermost open parenthesis as kernel style does (or with the line's
// own indentation when that parenthesis opened on an earlier line). It returns the line
// unchanged when it fits, is a preprocessor or comment line, or has no
// place to break at.
func wrapLine(line string) string {
	if columns(line) <= maxColumns {
		return line
	}
	trimmed := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "/*") || strings.HasPrefix(trimmed, "*") || strings.HasPrefix(trimmed, "//") {
		return line
	}
	if strings.HasSuffix(strings.TrimRight(line, " \t"), "\\") {
		return line // a line of a macro body: a break would end the macro
	}
	lead := line[:len(line)-len(trimmed)]
	type cut struct{ at, indent int }
	var best *cut
	var parens []int // columns of open parentheses on this line
	col := 0
	var quote rune
	escaped := false
	for i, r := range line {
		switch {
		case quote != 0:
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == quote:
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '/' && i+1 < len(line) && (line[i+1] == '/' || line[i+1] == '*'):
			// a comment starts: no break inside it (the rest of a //
			// comment on the next line would be code)
			goto scanned
		case r == '(':
			parens = append(parens, col)
		case r == ')':
			if len(parens) > 0 {
				parens = parens[:len(parens)-1]
			}
		case r == ',' && i+1 < len(line) && line[i+1] == ' ' && col+1 <= maxColumns:
			best = &cut{i + 1, continuation(lead, parens)}
		case r == ' ' && i > 0:
			// after a binary operator between spaces: the operator ends
			// the line, as checkpatch wants logical continuations
			for _, op := range binaryOps {
				end := i + 1 + len(op)
				if end < len(line) && line[i+1:end] == op && line[end] == ' ' && col+1+len(op) <= maxColumns {
					best = &cut{end, continuation(lead, parens)}
					break
				}
			}
		}
		if r == '\t' {
			col += 8 - col%8
		} else {
			col++
		}
	}
scanned:
	if best == nil {
		return line
	}
	rest := indentTo(best.indent) + strings.TrimLeft(line[best.at:], " ")
	if columns(rest) >= columns(line) {
		return line // no progress
	}
	return line[:best.at] + "\n" + wrapLine(rest)
}

// binaryOps are the operators a line may be broken after, longest first.
var binaryOps = []string{"&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "&", "|", "^", "+", "-", "*", "/", "%", "<", ">", "?", ":"}

// continuation is the column a continued line starts at: after the
// innermost parenthesis opened on this line, or the line's own indentation
// when it is itself a continuation.
func continuation(lead string, parens []int) int {
	if len(parens) > 0 {
		return parens[len(parens)-1] + 1
	}
	return columns(lead)
}

// lineAt returns the line of src that holds byte off, without its newline.
func lineAt(src []byte, off int) string {
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	end := len(src)
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		end = off + i
	}
	return string(src[start:end])
}

// wrapEdited wraps the lines holding the given offsets, so that a name an
// edit lengthened does not push a line past checkpatch's limit.
func wrapEdited(data []byte, offsets []int) []byte {
	if len(offsets) == 0 {
		return data
	}
	text := string(data)
	var starts []int
	for _, off := range offsets {
		st := strings.LastIndexByte(text[:off], '\n') + 1
		if len(starts) == 0 || starts[len(starts)-1] != st {
			starts = append(starts, st)
		}
	}
	// from the last line up, so earlier offsets stay valid
	for i := len(starts) - 1; i >= 0; i-- {
		st := starts[i]
		end := len(text)
		if j := strings.IndexByte(text[st:], '\n'); j >= 0 {
			end = st + j
		}
		if w := wrapLine(text[st:end]); w != text[st:end] {
			text = text[:st] + w + text[end:]
		}
	}
	return []byte(text)
}
