package patch

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// PreserveLines returns cur with a "#line N" directive after each changed
// block, so that code after the block keeps the __LINE__ it had in base.
// klp-build does the same to the patches it builds
// (scripts/livepatch/fix-patch-lines): without it every function below an
// added line that uses __LINE__ (WARN, might_sleep, ...) would look
// changed. A directive is only placed at the start of a line that is
// outside comments and macro definitions.
func PreserveLines(base, cur []byte) []byte {
	d := Diff("f", base, cur)
	if d == nil || base == nil {
		return cur
	}
	toks := ast.Tokenize(cur)
	blocked := func(off int) bool {
		i := sort.Search(len(toks), func(i int) bool { return toks[i].End > off })
		if i < len(toks) && toks[i].Off < off && (toks[i].Kind == ast.Comment || toks[i].Kind == ast.Directive || toks[i].Kind == ast.String) {
			return true
		}
		// the previous line continues into this one
		return off >= 2 && cur[off-1] == '\n' && cur[off-2] == '\\'
	}
	lines := ast.NewLines(cur)
	type ins struct {
		off  int
		line int
	}
	var inserts []ins
	// shift is what gcc's line number of a line of cur exceeds its
	// number in cur by, after the directives placed so far: a directive
	// is due where that number is not the line's number in base.
	shift := 0
	for _, h := range d.Hunks {
		o, n := h.OldStart, h.NewStart
		if h.OldLines == 0 {
			o++
		}
		if h.NewLines == 0 {
			n++
		}
		inBlock := false
		for _, l := range h.Lines {
			switch l.Op {
			case Context:
				if inBlock {
					// first line after a change block: old line o, new line n
					if n <= lines.Count() {
						off := lines.Start(n)
						if !blocked(off) && o != n+shift {
							inserts = append(inserts, ins{off, o})
							shift = o - n
						}
					}
					inBlock = false
				}
				o++
				n++
			case Delete:
				inBlock = true
				o++
			case Insert:
				inBlock = true
				n++
			}
		}
	}
	if len(inserts) == 0 {
		return cur
	}
	var b strings.Builder
	last := 0
	for _, in := range inserts {
		b.Write(cur[last:in.off])
		fmt.Fprintf(&b, "#line %d\n", in.line)
		last = in.off
	}
	b.Write(cur[last:])
	return []byte(b.String())
}
