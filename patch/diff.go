package patch

import (
	"regexp"
	"slices"
	"strings"
)

// ContextLines is the number of context lines around each change, as diff -u.
const ContextLines = 3

// maxEditDistance bounds the Myers search; beyond it the changed middle of
// the file is emitted as one delete-and-insert block (still a correct diff).
const maxEditDistance = 4000

// Diff returns the file diff that turns old into new. A nil old means the
// file is created, a nil new that it is deleted. It returns nil when the
// contents are equal.
func Diff(path string, old, new []byte) *File {
	if old != nil && new != nil && string(old) == string(new) {
		return nil
	}
	a, b := splitText(old), splitText(new)
	ops := diffLines(lineKeys(a), lineKeys(b))
	f := &File{OldPath: path, NewPath: path}
	if old == nil {
		f.OldPath = ""
	}
	if new == nil {
		f.NewPath = ""
	}
	f.Hunks = makeHunks(ops, a, b)
	return f
}

// lineKeys returns the lines to compare: a last line without newline
// differs from the same text with one.
func lineKeys(t text) []string {
	if !t.noNewline || len(t.lines) == 0 {
		return t.lines
	}
	keys := append([]string(nil), t.lines...)
	keys[len(keys)-1] += "\x00no newline"
	return keys
}

type editOp struct {
	op   Op
	a, b int // indexes into the old and new lines (a for Delete/Context, b for Insert/Context)
}

// diffLines returns an edit script from a to b.
func diffLines(a, b []string) []editOp {
	// Intern lines so the search compares ints.
	ids := map[string]int{}
	intern := func(ls []string) []int {
		out := make([]int, len(ls))
		for i, l := range ls {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	x, y := intern(a), intern(b)
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	var ops []editOp
	for i := 0; i < pre; i++ {
		ops = append(ops, editOp{Context, i, i})
	}
	xs, ys := x[pre:len(x)-suf], y[pre:len(y)-suf]
	mid, ok := myers(xs, ys, exactEdits)
	if !ok {
		mid = discardDiff(xs, ys)
	}
	for _, m := range mid {
		m.a += pre
		m.b += pre
		ops = append(ops, m)
	}
	for i := 0; i < suf; i++ {
		ops = append(ops, editOp{Context, len(x) - suf + i, len(y) - suf + i})
	}
	return ops
}

// LineRuns returns the runs of lines that differ between a and b, in
// order, each as [a start, a end, b start, b end) indexes: the same line
// diff the rendered patches use (Myers), for callers that need the runs
// of two long texts.
func LineRuns(a, b []string) [][4]int {
	var out [][4]int
	ops := diffLines(a, b)
	for i := 0; i < len(ops); {
		if ops[i].op == Context {
			i++
			continue
		}
		// a run: the context line before it (or the start) and the next
		// one (or the end) bound it
		j := i
		for ; j < len(ops) && ops[j].op != Context; j++ {
		}
		ai, bi := 0, 0
		if i > 0 {
			ai, bi = ops[i-1].a+1, ops[i-1].b+1
		}
		ae, be := len(a), len(b)
		if j < len(ops) {
			ae, be = ops[j].a, ops[j].b
		}
		out = append(out, [4]int{ai, ae, bi, be})
		i = j
	}
	return out
}

// exactEdits is the number of edits up to which diffLines runs the Myers
// search on the lines as they are; beyond it (the search costs time and
// memory quadratic in the number of edits) it uses discardDiff.
const exactEdits = 1000

// discardDiff diffs x and y as myers does, but first sets aside the lines
// that occur on one side only: they cannot be part of a common subsequence,
// so the longest one is unchanged, and the search (quadratic in the number
// of edits) only sees the lines both sides share. A big rewrite of a file,
// where most new lines are new, then costs time linear in its size.
func discardDiff(x, y []int) []editOp {
	inX, inY := map[int]bool{}, map[int]bool{}
	for _, id := range x {
		inX[id] = true
	}
	for _, id := range y {
		inY[id] = true
	}
	var xi, yi []int // indexes of the lines kept
	var xf, yf []int // the lines kept
	for i, id := range x {
		if inY[id] {
			xi, xf = append(xi, i), append(xf, id)
		}
	}
	for j, id := range y {
		if inX[id] {
			yi, yf = append(yi, j), append(yf, id)
		}
	}
	var ops []editOp
	i, j := 0, 0
	// Between two matched lines: the deletions, then the insertions.
	gap := func(toI, toJ int) {
		for ; i < toI; i++ {
			ops = append(ops, editOp{Delete, i, j})
		}
		for ; j < toJ; j++ {
			ops = append(ops, editOp{Insert, i, j})
		}
	}
	script, ok := myers(xf, yf, 2*maxEditDistance)
	if !ok {
		script = nil // no common line kept: one delete-and-insert block
	}
	for _, m := range script {
		if m.op != Context {
			continue
		}
		a, b := xi[m.a], yi[m.b]
		gap(a, b)
		ops = append(ops, editOp{Context, a, b})
		i, j = a+1, b+1
	}
	gap(len(x), len(y))
	return ops
}

// myers is the O(ND) greedy diff of Myers (1986), recording the part of the
// V array each edit step reads, to walk the path back. It gives up (false)
// beyond maxD edits.
func myers(x, y []int, maxD int) ([]editOp, bool) {
	n, m := len(x), len(y)
	coarse := func() []editOp {
		var ops []editOp
		for i := 0; i < n; i++ {
			ops = append(ops, editOp{Delete, i, 0})
		}
		for j := 0; j < m; j++ {
			ops = append(ops, editOp{Insert, n, j})
		}
		return ops
	}
	if n == 0 || m == 0 {
		return coarse(), true
	}
	max := min(n+m, maxD)
	off := max + 1
	v := make([]int, 2*max+3)
	var trace [][]int // the window of v before each step
	var traceLo []int // where each window starts in v
	found := -1
	for d := 0; d <= max && found < 0; d++ {
		// Step d reads v[off-d-1 .. off+d+1] only: keep that window.
		lo := off - d - 1
		if lo < 0 {
			lo = 0
		}
		trace = append(trace, slices.Clone(v[lo:off+d+2]))
		traceLo = append(traceLo, lo)
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				i = v[off+k+1]
			} else {
				i = v[off+k-1] + 1
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i++
				j++
			}
			v[off+k] = i
			if i >= n && j >= m {
				found = d
				break
			}
		}
	}
	if found < 0 {
		return coarse(), false
	}
	// Walk back.
	var rev []editOp
	i, j := n, m
	for d := found; d > 0; d-- {
		w, lo := trace[d], traceLo[d]
		vp := func(i int) int { return w[i-lo] }
		k := i - j
		var prevK int
		if k == -d || (k != d && vp(off+k-1) < vp(off+k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevI := vp(off + prevK)
		prevJ := prevI - prevK
		for i > prevI && j > prevJ {
			i--
			j--
			rev = append(rev, editOp{Context, i, j})
		}
		if i == prevI {
			j--
			rev = append(rev, editOp{Insert, i, j})
		} else {
			i--
			rev = append(rev, editOp{Delete, i, j})
		}
	}
	for i > 0 && j > 0 {
		i--
		j--
		rev = append(rev, editOp{Context, i, j})
	}
	ops := make([]editOp, len(rev))
	for k := range rev {
		ops[k] = rev[len(rev)-1-k]
	}
	return ops, true
}

// makeHunks groups an edit script into hunks with ContextLines of context.
func makeHunks(ops []editOp, a, b text) []*Hunk {
	var hunks []*Hunk
	i := 0
	for i < len(ops) {
		if ops[i].op == Context {
			i++
			continue
		}
		// ops[i] starts a change; extend the hunk while changes are close.
		start := i - ContextLines
		if start < 0 {
			start = 0
		}
		end := i
		for {
			for end < len(ops) && ops[end].op != Context {
				end++
			}
			// end is at a context run (or the end); look ahead.
			run := end
			for run < len(ops) && ops[run].op == Context {
				run++
			}
			if run < len(ops) && run-end <= 2*ContextLines {
				end = run
				continue
			}
			end += ContextLines
			if end > len(ops) {
				end = len(ops)
			}
			break
		}
		hunks = append(hunks, hunkFrom(ops[start:end], a, b))
		i = end
	}
	return hunks
}

func hunkFrom(ops []editOp, a, b text) *Hunk {
	h := &Hunk{OldStart: -1, NewStart: -1}
	for _, o := range ops {
		var l Line
		switch o.op {
		case Context:
			l = Line{Op: Context, Text: a.lines[o.a], NoNewline: a.noNewline && o.a == len(a.lines)-1}
			if h.OldStart < 0 {
				h.OldStart = o.a
			}
			if h.NewStart < 0 {
				h.NewStart = o.b
			}
			h.OldLines++
			h.NewLines++
			if l.NoNewline != (b.noNewline && o.b == len(b.lines)-1) {
				// The same text, but the final newline differs: a delete and an insert.
				h.Lines = append(h.Lines, Line{Op: Delete, Text: l.Text, NoNewline: a.noNewline && o.a == len(a.lines)-1})
				h.Lines = append(h.Lines, Line{Op: Insert, Text: l.Text, NoNewline: b.noNewline && o.b == len(b.lines)-1})
				continue
			}
		case Delete:
			l = Line{Op: Delete, Text: a.lines[o.a], NoNewline: a.noNewline && o.a == len(a.lines)-1}
			if h.OldStart < 0 {
				h.OldStart = o.a
			}
			h.OldLines++
		case Insert:
			l = Line{Op: Insert, Text: b.lines[o.b], NoNewline: b.noNewline && o.b == len(b.lines)-1}
			if h.NewStart < 0 {
				h.NewStart = o.b
			}
			h.NewLines++
		}
		h.Lines = append(h.Lines, l)
	}
	// Start lines: 1-based; a side with no lines names the line before.
	if h.OldStart < 0 {
		h.OldStart = firstIndex(ops, true)
	} else if h.OldLines > 0 {
		h.OldStart++
	}
	if h.NewStart < 0 {
		h.NewStart = firstIndex(ops, false)
	} else if h.NewLines > 0 {
		h.NewStart++
	}
	before := h.OldStart - 1
	if h.OldLines == 0 {
		before = h.OldStart
	}
	h.Section = funcContext(a.lines, before)
	return h
}

// firstIndex returns the 0-based index a side with no lines starts at,
// which is the 1-based number of the line before it.
func firstIndex(ops []editOp, old bool) int {
	if old {
		return ops[0].a
	}
	return ops[0].b
}

// funcLineRE is git's "cpp" funcname pattern (the kernel's .gitattributes
// sets diff=cpp for C files): a line that starts with an identifier, except
// goto labels.
var (
	funcLineRE = regexp.MustCompile(`^[A-Za-z_$]`)
	labelRE    = regexp.MustCompile(`^[ \t]*[A-Za-z_][A-Za-z_0-9]*:[ \t]*($|/[*/])`)
)

// funcContext returns the text for the @@ line: the nearest line before
// index before (exclusive) that looks like the start of a definition.
func funcContext(lines []string, before int) string {
	if before > len(lines) {
		before = len(lines)
	}
	for i := before - 1; i >= 0; i-- {
		l := lines[i]
		if funcLineRE.MatchString(l) && !labelRE.MatchString(l) {
			l = strings.TrimRight(l, " \t")
			if len(l) > 80 {
				l = l[:80]
				for len(l) > 0 && l[len(l)-1]&0xC0 == 0x80 {
					l = l[:len(l)-1]
				}
				if len(l) > 0 && l[len(l)-1] >= 0xC0 {
					l = l[:len(l)-1]
				}
			}
			return l
		}
	}
	return ""
}
