package ast

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
