package ast

import (
	"sort"
	"strings"
)

// LineStart is the offset of the start of the line holding off.
func LineStart(src []byte, off int) int {
	for off > 0 && src[off-1] != '\n' {
		off--
	}
	return off
}

// LineEnd is the offset just past the newline of the line a span ending at
// off ends on (the end of src when that line has no newline).
func LineEnd(src []byte, off int) int {
	for off < len(src) && src[off] != '\n' {
		off++
	}
	if off < len(src) {
		off++
	}
	return off
}

// StatementEnd returns the offset after the ';' that ends a struct
// definition statement whose closing brace ends at off, attributes after
// the brace included (} __packed;); off when something else follows.
func StatementEnd(f *File, off int) int {
	depth := 0
	first := sort.Search(len(f.Tokens), func(i int) bool { return f.Tokens[i].Off >= off })
	for _, t := range f.Tokens[first:] {
		switch {
		case t.Kind == Comment:
		case depth > 0:
			// an attribute's arguments: __aligned(8), __attribute__((x))
			if t.Is("(") {
				depth++
			} else if t.Is(")") {
				depth--
			}
		case t.Is(";"):
			return t.End
		case t.Is("("):
			depth++
		case t.Kind == Ident && strings.HasPrefix(t.Text, "__"):
			// an attribute macro after the closing brace: __packed,
			// __aligned(8), __randomize_layout
		default:
			return off
		}
	}
	return off
}
