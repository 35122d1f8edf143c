// Package edit is the one kind of text edit kprewrite makes: the transforms,
// the driver and every helper that computes replacements (cexpr's access
// rewriter, gen's realignment, header2c's renaming) propose edits of this
// type, and Apply applies them, refusing edits that overlap or fall outside
// the text. Each edit may name the hazard it resolves, so the report can
// say which edits fixed which hazard.
package edit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/patch"
)

// Edit replaces the bytes [Off, End) of a file's text with Text.
type Edit struct {
	File     string // path of the file in the tree ("" inside one text)
	Off, End int    // byte offsets in the text the edit was computed on
	Text     string
	Why      string         // purpose, for conflict messages ("bitfield: accessor call")
	Hazard   *hazard.Hazard // the hazard the edit resolves, nil for shared support code
}

// Insert returns an edit that inserts text at off.
func Insert(file string, off int, text string) Edit {
	return Edit{File: file, Off: off, End: off, Text: text}
}

// Sort orders edits by position; edits at the same position keep their
// order (several insertions at one offset appear in the order proposed).
func Sort(es []Edit) {
	slices.SortStableFunc(es, func(a, b Edit) int {
		if a.Off != b.Off {
			return a.Off - b.Off
		}
		return a.End - b.End
	})
}

// Check reports the first edit of es (sorted) that falls outside a text of
// n bytes or overlaps the edit before it.
func Check(n int, es []Edit) error {
	for i, e := range es {
		if e.Off < 0 || e.End > n || e.Off > e.End {
			return fmt.Errorf("%sedit [%d, %d) out of range of %d bytes (%s)", where(e), e.Off, e.End, n, e.Why)
		}
		if i > 0 && e.Off < es[i-1].End {
			return fmt.Errorf("%sconflicting edits at byte %d: %q and %q", where(e), e.Off, es[i-1].Why, e.Why)
		}
	}
	return nil
}

func where(e Edit) string {
	if e.File == "" {
		return ""
	}
	return e.File + ": "
}

// Apply applies edits (in any order, all of one text) to src. It refuses
// overlapping edits and edits out of range; each is an error that names
// both purposes.
func Apply(src []byte, es []Edit) ([]byte, error) {
	out, _, err := ApplyOffsets(src, es)
	return out, err
}

// ApplyOffsets is Apply that also returns, for each edit in position order,
// the offset in the result where its text starts.
func ApplyOffsets(src []byte, es []Edit) ([]byte, []int, error) {
	es = slices.Clone(es)
	Sort(es)
	if err := Check(len(src), es); err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	b.Grow(len(src))
	starts := make([]int, 0, len(es))
	last := 0
	for _, e := range es {
		b.Write(src[last:e.Off])
		starts = append(starts, b.Len())
		b.WriteString(e.Text)
		last = e.End
	}
	b.Write(src[last:])
	return []byte(b.String()), starts, nil
}

// MustApply is Apply for edits computed from src itself by code that
// guarantees they do not overlap; an overlap there is a bug in kprewrite.
func MustApply(src string, es []Edit) string {
	out, err := Apply([]byte(src), es)
	if err != nil {
		panic("kprewrite: " + err.Error())
	}
	return string(out)
}

// Diff returns the edits that turn old into new: one per run of differing
// lines, so that a text computed as a whole (a header with some changes
// undone) still reaches the driver as precise edits that conflict
// detection sees.
func Diff(file string, old, new []byte) []Edit {
	ol := strings.SplitAfter(string(old), "\n")
	nl := strings.SplitAfter(string(new), "\n")
	offs := make([]int, len(ol)+1) // byte offset of each line of old
	for i, l := range ol {
		offs[i+1] = offs[i] + len(l)
	}
	// common leading and trailing lines need no comparison
	lo := 0
	for lo < len(ol) && lo < len(nl) && ol[lo] == nl[lo] {
		lo++
	}
	hiO, hiN := len(ol), len(nl)
	for hiO > lo && hiN > lo && ol[hiO-1] == nl[hiN-1] {
		hiO--
		hiN--
	}
	if lo == hiO && lo == hiN {
		return nil
	}
	a, b := ol[lo:hiO], nl[lo:hiN]
	if len(a)*len(b) > maxCells {
		// too long for the table: the rendered patches' diff finds the runs
		var out []Edit
		for _, r := range patch.LineRuns(a, b) {
			out = append(out, Edit{File: file, Off: offs[lo+r[0]], End: offs[lo+r[1]], Text: strings.Join(b[r[2]:r[3]], "")})
		}
		return out
	}
	// longest common subsequence of the lines in between
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []Edit
	i, j := 0, 0
	for i < n || j < m {
		if i < n && j < m && a[i] == b[j] {
			i++
			j++
			continue
		}
		si, sj := i, j
		for i < n || j < m {
			if i < n && j < m && a[i] == b[j] {
				break
			}
			if j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]) {
				j++
			} else {
				i++
			}
		}
		out = append(out, Edit{File: file, Off: offs[lo+si], End: offs[lo+i], Text: strings.Join(b[sj:j], "")})
	}
	return out
}

// maxCells bounds the table of Diff's line comparison; beyond it the runs
// come from patch.LineRuns.
const maxCells = 4 << 20
