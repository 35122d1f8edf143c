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
	"github.com/kprewrite/kprewrite/lpname"
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
	own := map[string]bool{}     // functions only the rewrite defines, in the source file
	alias := map[string]string{} // header code moved under a new name (foo_lp) -> upstream's name
	for _, fn := range rf.Funcs {
		if udefs[fn.Name] != nil || !inSpans(rmain, fn.Span.Off) {
			continue
		}
		if o := lpname.Original(fn.Name); o != "" && udefs[o] != nil {
			alias[fn.Name] = o // compared with upstream's, not taken on trust
			continue
		}
		own[fn.Name] = true
	}
	if len(own) == 0 {
		return nil, "the rewritten file defines no function of its own"
	}
	rtext := func(t ast.Token) string {
		if a, ok := alias[t.Text]; ok && t.Kind == ast.Ident {
			return a
		}
		return norm(t.Text)
	}
	// outside functions, in the whole unit: the same tokens, but for the
	// bodies of struct, union and enum definitions (the layout check and
	// the enums transform answer for those) and static_assert lines
	// the rewrite's own file-scope objects (a table of locks, defined in
	// one file and declared in the others) are the own functions' data:
	// the functions that use them are the own ones, compared below
	var ownData []ast.Span
	for _, v := range rf.Vars {
		if v.Func == nil && inSpans(rmain, v.Span.Off) && !declaresVar(uf, v.Name) {
			ownData = append(ownData, v.Span)
		}
	}
	if why := sameEnums(uf, rf); why != "" {
		return nil, why
	}
	if uo, ro := outside(uf, nil), outside(rf, rtext, ownData...); !slices.Equal(uo, ro) {
		i := 0
		for i < len(uo) && i < len(ro) && uo[i] == ro[i] {
			i++
		}
		return nil, fmt.Sprintf("the rewritten unit differs from upstream's outside functions, at %q (upstream: %q)",
			strings.Join(ro[max(i-3, 0):min(i+4, len(ro))], " "), strings.Join(uo[max(i-3, 0):min(i+4, len(uo))], " "))
	}
	// every function of upstream's source file is in the rewritten one
	for _, fn := range uf.Funcs {
		if inSpans(umain, fn.Span.Off) && rdefs[fn.Name] == nil {
			return nil, fmt.Sprintf("the rewritten file has no %s()", fn.Name)
		}
	}
	// the functions to compare: the source file's, and the ones they and
	// its data reach (header inlines), in the rewritten unit; pairs by
	// name and occurrence (#if branches of a plain file may define one
	// twice)
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
	for _, t := range rf.CodeTokens(ast.Span{Off: 0, End: len(rf.Src)}) {
		if t.Kind == ast.Ident && rdefs[t.Text] != nil && inSpans(rmain, t.Off) && rf.FuncAt(t.Off) == nil {
			add(def{t.Text, 0}) // named in the file's data (an ops table)
		}
	}
	for len(work) > 0 {
		d := work[0]
		work = work[1:]
		rfn := rdefs[d.name][d.k]
		up := d.name
		if a, ok := alias[up]; ok {
			up = a
		}
		if d.k >= len(udefs[up]) {
			return nil, fmt.Sprintf("upstream's unit has no %s()", up)
		}
		ufn := udefs[up][d.k]
		a, b := uf.CodeTokens(ufn.Span), rf.CodeTokens(rfn.Span)
		for _, t := range b {
			if t.Kind == ast.Ident && rdefs[t.Text] != nil && t.Text != d.name {
				add(def{t.Text, 0})
			}
		}
		if why := onlyOwnCalls(texts(a), b, own, rtext); why != "" {
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

// outside returns the texts of the unit's code tokens outside function
// definitions, without top-level static_assert(...); statements (they
// make no code) and the bodies of struct, union and enum definitions;
// text maps a token to the text compared (nil: norm).
func outside(f *ast.File, text func(ast.Token) string, skip ...ast.Span) []string {
	if text == nil {
		text = func(t ast.Token) string { return norm(t.Text) }
	}
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
		if slices.ContainsFunc(skip, func(s ast.Span) bool { return s.Contains(t.Off) }) {
			continue
		}
		if depth == 0 && (t.Text == "static_assert" || t.Text == "_Static_assert") {
			for i < len(toks) && toks[i].Text != ";" {
				i++
			}
			continue
		}
		if t.Text == "struct" || t.Text == "union" || t.Text == "enum" {
			// "struct tag {...}" or "struct {...}": the body is skipped
			k := i + 1
			if k < len(toks) && toks[k].Kind == ast.Ident {
				k++
			}
			if k < len(toks) && toks[k].Text == "{" {
				start := len(out)
				out = append(out, t.Text)
				if k > i+1 {
					out = append(out, toks[i+1].Text)
				}
				for d := 0; k < len(toks); k++ {
					if toks[k].Text == "{" {
						d++
					} else if toks[k].Text == "}" {
						if d--; d == 0 {
							break
						}
					}
				}
				i = k
				if t.Text == "enum" && depth == 0 && k+1 < len(toks) && toks[k+1].Text == ";" {
					// an enum definition of its own: where it stands does
					// not matter (header2c moves a new one into its
					// users); sameEnums compares the constants
					out = out[:start]
					i = k + 1
				}
				continue
			}
		}
		switch t.Text {
		case "(", "{", "[":
			depth++
		case ")", "}", "]":
			depth--
		}
		out = append(out, text(t))
	}
	return out
}

// sameEnums checks the enum constants the rewritten unit defines against
// upstream's: a constant both define must have the same value, which it
// has when it and every constant before it in its enum are upstream's,
// name for name and value for value (upstream may add constants after
// it, or elsewhere). The rewritten unit may lack upstream's enums (its
// code compiles without them) and define some of its own.
func sameEnums(up, rw *ast.File) string {
	type at struct {
		e *ast.Enum
		i int
	}
	where := map[string]at{}
	for _, e := range up.Enums {
		for i, v := range e.Values {
			where[v.Name] = at{e, i}
		}
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, e := range rw.Enums {
		for i, v := range e.Values {
			u, ok := where[v.Name]
			if !ok {
				continue
			}
			same := u.i == i
			for k := 0; same && k <= i; k++ {
				same = u.e.Values[k].Name == e.Values[k].Name && norm(u.e.Values[k].Value) == norm(e.Values[k].Value)
			}
			if !same {
				return fmt.Sprintf("the rewritten unit defines %s other than upstream's unit (its enum up to it differs)", v.Name)
			}
		}
	}
	return ""
}

// declaresVar reports whether f defines or declares a file-scope
// variable name (__COUNTER__ numbers aside: norm).
func declaresVar(f *ast.File, name string) bool {
	return slices.ContainsFunc(f.Vars, func(v *ast.Var) bool { return v.Func == nil && norm(v.Name) == norm(name) })
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
	return counterName.ReplaceAllStringFunc(text, func(m string) string {
		if strings.HasPrefix(m, "__initcall__kmod_") {
			return initcallCounter.ReplaceAllString(m, "${1}N_")
		}
		return strings.TrimRight(m, "0123456789") + "N"
	})
}

// counterName matches generated names that end in (or, for initcalls,
// hold) a __COUNTER__ value; initcallCounter is an initcall's.
var (
	counterName     = regexp.MustCompile(`__UNIQUE_ID_[A-Za-z0-9_]*[0-9]|__compiletime_assert_[0-9]+|__initcall__kmod_[A-Za-z0-9_]*?__[0-9]+_`)
	initcallCounter = regexp.MustCompile(`^(__initcall__kmod_[A-Za-z0-9_]*?__)[0-9]+_`)
)

func texts(ts []ast.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = norm(t.Text)
	}
	return out
}

// onlyOwnCalls checks that the rewritten tokens b are the upstream tokens
// a but for calls of functions of own: each such call ("name(...)", name
// to its ')') stands for one upstream call or parenthesised group (what
// upstream writes there: a bit operation, a macro's expansion), and every
// other token must match, in order (text gives a rewritten token's text).
// It is wildcard matching, each call a '*' of that shape; a statement
// macro's expansion, "do { ... } while (0)", is of that shape too (what a
// lock table's init function stands for: spin_lock_init()).
func onlyOwnCalls(a []string, b []ast.Token, own map[string]bool, text func(ast.Token) string) string {
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
					if depth--; depth == 0 {
						break
					}
				}
			}
			pat = append(pat, wild)
			shown = append(shown, b[j].Text+"(...)")
			j = k
			continue
		}
		pat = append(pat, text(b[j]))
		shown = append(shown, b[j].Text)
	}
	if slices.Equal(pat, a) {
		return ""
	}
	n, m := len(pat), len(a)
	if n*m > maxCells {
		return fmt.Sprintf("too long to compare (%d and %d tokens)", m, n)
	}
	// closing[j]: the index of the ')' that closes a '(' at j, or -1
	closing := make([]int, m)
	var open []int
	for j := range a {
		closing[j] = -1
		switch a[j] {
		case "(", "{":
			open = append(open, j)
		case ")", "}":
			if len(open) > 0 {
				closing[open[len(open)-1]] = j
				open = open[:len(open)-1]
			}
		}
	}
	// prev[j]: pat[:i-1] matches a[:j]; cur[j]: pat[:i] matches a[:j]
	prev := make([]bool, m+1)
	cur := make([]bool, m+1)
	prev[0] = true
	for i := 1; i <= n; i++ {
		clear(cur)
		any := false
		if pat[i-1] == wild {
			for j0 := 0; j0 < m; j0++ {
				if !prev[j0] {
					continue
				}
				end := -1
				switch {
				case a[j0] == "(":
					end = closing[j0]
				case j0+1 < m && a[j0+1] == "(" && ast.IsIdent(a[j0]):
					end = closing[j0+1]
				case a[j0] == "do" && j0+1 < m && a[j0+1] == "{":
					// a statement macro's expansion, do { ... } while (0)
					if c := closing[j0+1]; c > 0 && c+4 < m && a[c+1] == "while" && a[c+2] == "(" && a[c+3] == "0" && a[c+4] == ")" {
						end = c + 4
					}
				}
				if end >= 0 {
					cur[end+1] = true
					any = true
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
				up, err := fs.preprocess(vOrig, src)
				var rw []byte
				if err == nil {
					rw, err = fs.preprocess(vNew, src)
				}
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
