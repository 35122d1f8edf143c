package verify

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// maxCells bounds the token alignment of one function pair (rows times
// columns): beyond it the comparison gives up, and the function counts as
// missing.
const maxCells = 1 << 28

// encodingOnly reports whether the rewritten unit is the upstream one up to
// calls of functions the rewrite defines in the source file and upstream
// does not (kprewrite's generated accessors, bit helpers and moved header
// code). Both are preprocessed units (gcc -E; a plain source file works
// too), so macros, the headers' changes among them, are expanded: every
// function of the source file, and every function of the headers those
// reach in the rewritten unit, must be upstream's token for token but
// inside calls of the rewrite's own functions, and the source file's code
// outside functions must be upstream's (static_assert lines aside). Then
// a function upstream's build changes and the rewritten build does not
// differs only in how those calls encode the same operation (a bit of a
// flags word kept in a member, a bit operation of the old width), not in
// a change the rewrite forgot. It returns the own functions, or why the
// units differ otherwise.
func encodingOnly(src string, upstream, rewritten []byte) (gen []string, why string) {
	uf, rf := ast.Parse(src, upstream), ast.Parse(src, rewritten)
	umain, rmain := mainSpans(upstream, src), mainSpans(rewritten, src)
	udefs, rdefs := defsByName(uf), defsByName(rf)
	own := map[string]bool{} // functions only the rewrite defines, in the source file
	for _, fn := range rf.Funcs {
		if udefs[fn.Name] == nil && inSpans(rmain, fn.Span.Off) {
			own[fn.Name] = true
		}
	}
	if len(own) == 0 {
		return nil, "the rewritten file defines no function of its own"
	}
	// outside functions: the same tokens, static_assert lines left out
	if uo, ro := outside(uf, umain), outside(rf, rmain); !slices.Equal(uo, ro) {
		i := 0
		for i < len(uo) && i < len(ro) && uo[i] == ro[i] {
			i++
		}
		return nil, fmt.Sprintf("the rewritten file differs from upstream's outside its functions, at %q (upstream: %q)",
			strings.Join(ro[max(i-3, 0):min(i+4, len(ro))], " "), strings.Join(uo[max(i-3, 0):min(i+4, len(uo))], " "))
	}
	// every function of upstream's source file is in the rewritten one
	for _, fn := range uf.Funcs {
		if inSpans(umain, fn.Span.Off) && rdefs[fn.Name] == nil {
			return nil, fmt.Sprintf("the rewritten file has no %s()", fn.Name)
		}
	}
	// the functions to compare: the source file's, and the ones they
	// reach (header inlines), in the rewritten unit; pairs by name and
	// occurrence (#if branches of a plain file may define one twice)
	type def struct {
		name string
		k    int
	}
	var work []def
	queued := map[def]bool{}
	add := func(d def) {
		if !queued[d] && !own[d.name] {
			queued[d] = true
			work = append(work, d)
		}
	}
	seen := map[string]int{}
	for _, fn := range rf.Funcs {
		k := seen[fn.Name]
		seen[fn.Name]++
		if inSpans(rmain, fn.Span.Off) {
			add(def{fn.Name, k})
		}
	}
	for len(work) > 0 {
		d := work[0]
		work = work[1:]
		rfn := rdefs[d.name][d.k]
		if d.k >= len(udefs[d.name]) {
			return nil, fmt.Sprintf("upstream's unit has no %s()", d.name)
		}
		ufn := udefs[d.name][d.k]
		a, b := uf.CodeTokens(ufn.Span), rf.CodeTokens(rfn.Span)
		for _, t := range b {
			if t.Kind == ast.Ident && rdefs[t.Text] != nil && t.Text != d.name {
				add(def{t.Text, 0})
			}
		}
		if sameTexts(a, b) {
			continue
		}
		if why := onlyOwnCalls(texts(a), b, own); why != "" {
			return nil, fmt.Sprintf("%s(): %s", d.name, why)
		}
	}
	return slices.Sorted(maps.Keys(own)), ""
}

// defsByName lists the function definitions of f by name, in order.
func defsByName(f *ast.File) map[string][]*ast.Func {
	out := map[string][]*ast.Func{}
	for _, fn := range f.Funcs {
		out[fn.Name] = append(out[fn.Name], fn)
	}
	return out
}

// mainSpans returns the byte ranges of a preprocessed unit that come from
// the source file src itself (by gcc's line markers), or the whole text
// when it has none.
func mainSpans(text []byte, src string) []ast.Span {
	var out []ast.Span
	start, inMain, marked := 0, true, false
	for off := 0; off < len(text); {
		end := bytes.IndexByte(text[off:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += off + 1
		}
		line := text[off:end]
		if file, ok := lineMarker(line); ok {
			if !marked {
				marked, inMain = true, false
			}
			if inMain {
				out = append(out, ast.Span{Off: start, End: off})
			}
			inMain = file == src || strings.HasSuffix(file, "/"+src)
			start = end
		}
		off = end
	}
	if !marked {
		return []ast.Span{{Off: 0, End: len(text)}}
	}
	if inMain {
		out = append(out, ast.Span{Off: start, End: len(text)})
	}
	return out
}

// lineMarker reads gcc's '# 12 "file" flags' line.
func lineMarker(line []byte) (string, bool) {
	l := strings.TrimSpace(string(line))
	if !strings.HasPrefix(l, "# ") {
		return "", false
	}
	f := strings.Fields(l)
	if len(f) < 3 || !strings.HasPrefix(f[2], "\"") {
		return "", false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", false
	}
	return strings.Trim(f[2], "\""), true
}

// inSpans reports whether off is in one of spans (sorted, disjoint).
func inSpans(spans []ast.Span, off int) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].End > off })
	return i < len(spans) && spans[i].Off <= off
}

// outside returns the texts of the code tokens of spans outside function
// definitions (the rewrite's own among them), without top-level
// static_assert(...); statements, which make no code.
func outside(f *ast.File, spans []ast.Span) []string {
	var out []string
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	fi := 0
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		for fi < len(f.Funcs) && f.Funcs[fi].Span.End <= t.Off {
			fi++
		}
		if fi < len(f.Funcs) && t.Off >= f.Funcs[fi].Span.Off || !inSpans(spans, t.Off) {
			continue // inside a function, or not of the source file
		}
		if depth == 0 && (t.Text == "static_assert" || t.Text == "_Static_assert") {
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
		out = append(out, norm(t.Text))
	}
	return out
}

// norm is a token's text with the numbers __COUNTER__ gives names dropped
// (__UNIQUE_ID_x_123, __compiletime_assert_45, the 840 of
// __initcall__kmod_af_packet__840_4834_packet_init6), in identifiers and
// in the strings that stringify them: code added before them renumbers
// every later one.
func norm(text string) string {
	if !strings.Contains(text, "__") {
		return text
	}
	return counterName.ReplaceAllString(text, "${1}N${2}")
}

// counterName matches the __COUNTER__ part of generated names.
var counterName = regexp.MustCompile(`(__UNIQUE_ID_[A-Za-z_]*?|__compiletime_assert_|__initcall__kmod_[A-Za-z0-9_]*?__)[0-9]+(_?)`)

func texts(ts []ast.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = norm(t.Text)
	}
	return out
}

func sameTexts(a, b []ast.Token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if norm(a[i].Text) != norm(b[i].Text) {
			return false
		}
	}
	return true
}

// onlyOwnCalls checks that the rewritten tokens b are the upstream tokens
// a but for calls of functions of own: each such call ("name(...)", name
// to its ')') stands for a non-empty run of upstream tokens that is an
// expression (what upstream writes there: a bit operation, a macro's
// expansion), and every other
// token must match, in order. It is wildcard matching, each call a '*'.
func onlyOwnCalls(a []string, b []ast.Token, own map[string]bool) string {
	// the pattern: the rewritten tokens with each own call one wildcard
	const wild = "\x00call"
	var pat, shown []string
	for j := 0; j < len(b); j++ {
		if b[j].Kind == ast.Ident && own[b[j].Text] && j+1 < len(b) && b[j+1].Text == "(" {
			depth, k := 0, j+1
			for ; k < len(b); k++ {
				if b[k].Text == "(" {
					depth++
				} else if b[k].Text == ")" {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			pat = append(pat, wild)
			shown = append(shown, b[j].Text+"(...)")
			j = k
			continue
		}
		pat = append(pat, norm(b[j].Text))
		shown = append(shown, b[j].Text)
	}
	n, m := len(pat), len(a)
	if n*m > maxCells {
		return fmt.Sprintf("too long to compare (%d and %d tokens)", m, n)
	}
	// prev[j]: pat[:i-1] matches a[:j]; cur[j]: pat[:i] matches a[:j]
	prev := make([]bool, m+1)
	cur := make([]bool, m+1)
	prev[0] = true
	for i := 1; i <= n; i++ {
		cur[0] = false
		any := false
		if pat[i-1] == wild {
			clear(cur)
			// a call stands for an expression: a balanced run with no ','
			// or ';' outside its brackets
			for j0 := 0; j0 < m; j0++ {
				if !prev[j0] {
					continue
				}
				depth := 0
				for j := j0; j < m; j++ {
					switch a[j] {
					case "(", "[", "{":
						depth++
					case ")", "]", "}":
						depth--
					case ";", ",":
						if depth == 0 {
							depth = -1
						}
					}
					if depth < 0 {
						break
					}
					if depth == 0 {
						cur[j+1] = true
						any = true
					}
				}
			}
		} else {
			for j := 1; j <= m; j++ {
				cur[j] = prev[j-1] && pat[i-1] == a[j-1]
				any = any || cur[j]
			}
		}
		if !any {
			return fmt.Sprintf("%q differs from upstream outside a call of kprewrite's own functions (after %q)",
				shown[i-1], strings.Join(shown[max(i-6, 0):i-1], " "))
		}
		prev, cur = cur, prev
	}
	if !prev[m] {
		return "upstream's function goes on after the rewritten one ends, outside a call of kprewrite's own functions"
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
func encodedIn(fs builtFuncs, srcs []string, f string, memo map[string]encoding) (string, []string, string) {
	for _, src := range srcs {
		if _, ok := fs.original[src][f]; !ok {
			continue
		}
		e, ok := memo[src]
		if !ok {
			e.why = "not changed by both patches"
			if fs.upstreamFiles[src] != nil && fs.rewrittenFiles[src] != nil && fs.preprocess != nil {
				up, rw, err := fs.preprocess(src)
				if err != nil {
					e.why = err.Error()
				} else {
					e.gen, e.why = encodingOnly(src, up, rw)
				}
			}
			memo[src] = e
		}
		if e.why == "" {
			return src, e.gen, ""
		}
		return "", nil, fmt.Sprintf("%s is not upstream's but for calls of the rewrite's own functions: %s", src, e.why)
	}
	return "", nil, ""
}

// encodedCount counts the functions of every object left as encodings.
func encodedCount(objs []ObjectFuncs) int {
	n := 0
	for _, o := range objs {
		n += len(o.Encoded)
	}
	return n
}
