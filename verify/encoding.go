package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// maxCells bounds the token alignment of one function pair (rows times
// columns): beyond it the comparison gives up, and the function counts as
// missing.
const maxCells = 8 << 20

// encodingOnly reports whether the rewritten file is the upstream one up to
// calls of functions the rewrite defines there and upstream does not
// (kprewrite's generated accessors, bit helpers and moved header code):
// every function upstream defines is defined in the rewritten file with
// the same tokens, except inside such calls, and the code outside
// functions is the same but for the rewrite's own definitions and
// static_assert lines. Then a function upstream's build changes and the
// rewritten build does not differs only in how those calls encode the
// same operation (a bit of a flags word kept in a member, a bit operation
// of the old width), not in a change the rewrite forgot. why says where
// the files differ otherwise.
func encodingOnly(src string, upstream, rewritten []byte) (gen []string, why string) {
	uf, rf := ast.Parse(src, upstream), ast.Parse(src, rewritten)
	upFuncs := map[string]*ast.Func{}
	for _, fn := range uf.Funcs {
		upFuncs[fn.Name] = fn
	}
	own := map[string]bool{} // functions only the rewrite defines
	for _, fn := range rf.Funcs {
		if upFuncs[fn.Name] == nil {
			own[fn.Name] = true
		}
	}
	if len(own) == 0 {
		return nil, "the rewritten file defines no function of its own"
	}
	// outside functions: the same tokens, static_assert lines left out
	if !slices.Equal(outside(uf), outside(rf)) {
		return nil, "the rewritten file differs from upstream's outside its functions"
	}
	// pair the definitions by name and occurrence (#if branches may
	// define a function twice)
	rdefs := map[string][]*ast.Func{}
	for _, fn := range rf.Funcs {
		rdefs[fn.Name] = append(rdefs[fn.Name], fn)
	}
	seen := map[string]int{}
	for _, ufn := range uf.Funcs {
		k := seen[ufn.Name]
		seen[ufn.Name]++
		if k >= len(rdefs[ufn.Name]) {
			return nil, fmt.Sprintf("the rewritten file has no %s()", ufn.Name)
		}
		rfn := rdefs[ufn.Name][k]
		a, b := uf.CodeTokens(ufn.Span), rf.CodeTokens(rfn.Span)
		if sameTexts(a, b) {
			continue
		}
		if why := onlyOwnCalls(texts(a), b, own); why != "" {
			return nil, fmt.Sprintf("%s(): %s", ufn.Name, why)
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for n := range own {
			if !yield(n) {
				return
			}
		}
	}), ""
}

// outside returns the texts of the file's code tokens outside function
// definitions (the rewrite's own among them), without top-level
// static_assert(...); statements, which make no code.
func outside(f *ast.File) []string {
	var out []string
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	fi := 0
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		for fi < len(f.Funcs) && f.Funcs[fi].Span.End <= t.Off {
			fi++
		}
		if fi < len(f.Funcs) && t.Off >= f.Funcs[fi].Span.Off {
			continue // inside a function
		}
		if depth == 0 && t.Text == "static_assert" {
			for i < len(toks) && toks[i].Text != ";" {
				i++
			}
			continue
		}
		switch t.Text {
		case "(", "{", "[":
			depth++
		case ")", "}", "]":
			depth--
		}
		out = append(out, t.Text)
	}
	return out
}

func texts(ts []ast.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Text
	}
	return out
}

func sameTexts(a, b []ast.Token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Text != b[i].Text {
			return false
		}
	}
	return true
}

// onlyOwnCalls aligns the upstream tokens a with the rewritten tokens b
// (a longest common subsequence) and checks that every token of b outside
// the alignment, and every place where tokens of a are missing from b, is
// inside a call of a function of own ("name(...)", name to ')').
func onlyOwnCalls(a []string, b []ast.Token, own map[string]bool) string {
	n, m := len(a), len(b)
	if n*m > maxCells {
		return fmt.Sprintf("too long to compare (%d and %d tokens)", n, m)
	}
	// inCall[j]: b[j] is part of a call of an own function; gap[j]: a
	// deletion before b[j] is inside one (strictly after its name)
	inCall := make([]bool, m+1)
	gap := make([]bool, m+1)
	for j := 0; j+1 < m; j++ {
		if b[j].Kind != ast.Ident || !own[b[j].Text] || b[j+1].Text != "(" {
			continue
		}
		depth, k := 0, j+1
		for ; k < m; k++ {
			if b[k].Text == "(" {
				depth++
			} else if b[k].Text == ")" {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		for x := j; x <= k && x < m; x++ {
			inCall[x] = true
			if x > j {
				gap[x] = true
			}
		}
	}
	// LCS table, suffix form
	w := m + 1
	lcs := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j].Text {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j].Text:
			i++
			j++
		case j < m && (i == n || lcs[i*w+j+1] >= lcs[(i+1)*w+j]):
			if !inCall[j] {
				return fmt.Sprintf("%q differs from upstream outside a call of kprewrite's own functions", b[j].Text)
			}
			j++
		default:
			if !gap[j] {
				return fmt.Sprintf("upstream's %q is missing outside a call of kprewrite's own functions", a[i])
			}
			i++
		}
	}
	return ""
}

// encodedList renders the functions of an encoding-only file for the report.
func encodedList(gen []string) string {
	if len(gen) > 6 {
		gen = append(gen[:6:6], fmt.Sprintf("%d more", len(gen)-6))
	}
	return strings.Join(gen, ", ")
}

// encoding is encodingOnly's answer for one source file.
type encoding struct {
	gen []string
	why string
}

// encodedIn returns the source file of srcs whose upstream build has
// function f and that is upstream's but for calls of the rewrite's own
// functions (and those functions), or "".
func encodedIn(fs builtFuncs, srcs []string, f string, memo map[string]encoding) (string, []string) {
	for _, src := range srcs {
		if _, ok := fs.original[src][f]; !ok {
			continue
		}
		e, ok := memo[src]
		if !ok {
			up, rw := fs.upstreamFiles[src], fs.rewrittenFiles[src]
			e.why = "not changed by both patches"
			if up != nil && rw != nil {
				e.gen, e.why = encodingOnly(src, up, rw)
			}
			memo[src] = e
		}
		if e.why == "" {
			return src, e.gen
		}
	}
	return "", nil
}

// encodedCount counts the functions of every object left as encodings.
func encodedCount(objs []ObjectFuncs) int {
	n := 0
	for _, o := range objs {
		n += len(o.Encoded)
	}
	return n
}
