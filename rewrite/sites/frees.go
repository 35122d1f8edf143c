package sites

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Free is a place where an object of the struct is freed.
type Free struct {
	File string
	Line int
	Fn   string // enclosing function
	Call string // "kfree", "kmem_cache_free", ...
	Arg  string // the freed pointer expression
	Stmt int    // offset of the statement holding the call, -1 when it is not a plain statement
	// Body, when Stmt is set: the statement is the whole body of an if,
	// else or loop ("if (x)\n\t\tkfree(c);"), which a statement added in
	// front must join in braces: Open is where " {" goes (after the ')' or
	// "else"), End where the statement ends (after its ';').
	Body      bool
	Open, End int
}

// freeFuncs are the free functions watched, with the index of the freed
// pointer among their arguments.
var freeFuncs = map[string]int{"kfree": 0, "kvfree": 0, "kfree_sensitive": 0, "vfree": 0, "kmem_cache_free": 1, "devm_kfree": 1}

// copyFuncs are the byte-copy functions watched, with their parameters: a
// struct pointer among the marked ones is an object copied (or copied
// over) without the struct's own assignment, which the creation sites do
// not see when the size is not a sizeof of the struct
// ("kmemdup(e, e->size, GFP_ATOMIC)").
var copyFuncs = map[string]struct {
	params  string
	checked []string
}{
	"kmemdup": {"p, n, g", []string{"p"}},
	"memcpy":  {"d, s, n", []string{"d", "s"}},
	"memmove": {"d, s, n", []string{"d", "s"}},
}

const freeMarker = "kprewrite-frees-"

// FreeResult is where the objects of one struct are freed and how that was
// found, and where they are copied byte for byte (kmemdup, memcpy).
type FreeResult struct {
	Frees  []*Free
	Copies []*Free
	Method string
}

// FreeSites is the fact of where objects of a struct are freed through the
// common free functions, type-exactly: in each candidate file every such
// call is wrapped so that the compiler fails when the freed pointer is a
// pointer to the struct. Frees through other paths (RCU callbacks, custom
// allocators) are not found; the method says so.
var FreeSites = &rewrite.Fact[Struct, *FreeResult]{
	Name: "free sites",
	Doc:  "where objects of a struct are freed by kfree and friends, found by making those calls fail on a pointer to the struct",
	Compute: func(s *rewrite.Session, st Struct) (*FreeResult, error) {
		fs, method, err := frees(s, st.Header, st.Tag)
		r := &FreeResult{Method: method}
		for _, f := range fs {
			if _, ok := copyFuncs[f.Call]; ok {
				r.Copies = append(r.Copies, f)
			} else {
				r.Frees = append(r.Frees, f)
			}
		}
		return r, err
	},
}

// Frees returns where objects of "struct tag" defined in header are freed,
// and how that was found (the FreeSites fact: p's transform must require
// it).
func Frees(p *rewrite.Pass, header, tag string) ([]*Free, string, error) {
	r, err := FreeSites.Get(p, Struct{header, tag})
	if err != nil {
		return nil, "", err
	}
	return r.Frees, r.Method, nil
}

func frees(p *rewrite.Session, header, tag string) ([]*Free, string, error) {
	if !p.HasCompiler() {
		return nil, "", fmt.Errorf("finding frees needs the compiler: give --config")
	}
	hu, err := p.Env.HeaderUsers(header)
	if err != nil {
		return nil, "", err
	}
	users, how := hu.Candidates(), hu.Method
	callRE := regexp.MustCompile(`\b(kfree|kvfree|kfree_sensitive|vfree|kmem_cache_free|devm_kfree)\s*\(`)
	// Textual pre-filter: a free call whose argument is a variable the file
	// declares as a struct tag pointer.
	declRE := regexp.MustCompile(`struct\s+` + regexp.QuoteMeta(tag) + `\s*\*\s*(\w+)`)
	argRE := regexp.MustCompile(`\b(?:kfree|kvfree|kfree_sensitive|vfree|devm_kfree|kmem_cache_free)\s*\(\s*(?:[^,()]+,\s*)?&?(\w+)\s*\)`)
	copyRE := regexp.MustCompile(`\b(?:kmemdup|memcpy|memmove)\s*\(\s*&?(\w+)(?:\s*->\s*\w+)?\s*,\s*&?(\w+)`)
	var cands []string
	for _, u := range users {
		src := p.File(u)
		vars := map[string]bool{}
		for _, m := range declRE.FindAllSubmatch(src, -1) {
			vars[string(m[1])] = true
		}
		if len(vars) == 0 {
			continue
		}
		for _, m := range argRE.FindAllSubmatch(src, -1) {
			if vars[string(m[1])] {
				cands = append(cands, u)
				break
			}
		}
		if slices.Contains(cands, u) {
			continue
		}
		for _, m := range copyRE.FindAllSubmatch(src, -1) {
			if vars[string(m[1])] || vars[string(m[2])] {
				cands = append(cands, u)
				break
			}
		}
	}
	for _, f := range p.CurrentSources() {
		if !slices.Contains(cands, f) && callRE.Match(p.File(f)) {
			cands = append(cands, f)
		}
	}
	sort.Strings(cands)
	method := fmt.Sprintf("the compiler, with kfree, kvfree, kfree_sensitive, vfree, kmem_cache_free and devm_kfree (and the copies kmemdup, memcpy, memmove) made to fail on a struct %s pointer, over the %d files the config builds that include %s and free or copy a variable they declare as a struct pointer (%s); frees through RCU callbacks, other allocators or expressions are not found",
		tag, len(cands), header, how)
	if len(cands) > MaxCandidates {
		return nil, method, fmt.Errorf("%d files to search for frees of struct %s: too many", len(cands), tag)
	}
	if len(cands) == 0 {
		return nil, method, nil
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, method, err
	}
	cands, notHere, err := screen(p, cands)
	if err != nil {
		return nil, method, err
	}
	method += notHere
	files := p.CurrentFiles()
	var wrap strings.Builder
	wrap.WriteString("\n/* kprewrite: find frees */\n")
	// in name order: the same question gives the same text, which the
	// result cache keys on
	for _, name := range slices.Sorted(maps.Keys(freeFuncs)) {
		arg := freeFuncs[name]
		params, ptr := "p", "p"
		if arg == 1 {
			params, ptr = "c, p", "p"
		}
		call := strings.ReplaceAll(params, " ", "")
		fmt.Fprintf(&wrap, "#define %s(%s) ({ _Static_assert(!_Generic((%s), struct %s *: 1, const struct %s *: 1, default: 0), \"%s%s\"); (%s)(%s); })\n",
			name, params, ptr, tag, tag, freeMarker, name, name, call)
	}
	for _, name := range slices.Sorted(maps.Keys(copyFuncs)) {
		c := copyFuncs[name]
		var conds []string
		for _, a := range c.checked {
			conds = append(conds, fmt.Sprintf("!_Generic((%s), struct %s *: 1, const struct %s *: 1, default: 0)", a, tag, tag))
		}
		// the value is a null pointer, not a call: only the diagnostics
		// matter, and kmemdup may be a macro (Linux 6.10's alloc_hooks)
		fmt.Fprintf(&wrap, "#undef %s\n#define %s(%s) ({ _Static_assert(%s, \"%s%s\"); (void *)0; })\n",
			name, name, c.params, strings.Join(conds, " && "), freeMarker, name)
	}
	for _, f := range cands {
		src := p.File(f)
		at := gen.InsertionPoint(ast.Parse(f, src))
		files[f] = []byte(string(src[:at]) + wrap.String() + string(src[at:]))
	}
	diags, err := o.Diagnostics(p.Context(), files, cands)
	if err != nil {
		return nil, method, err
	}
	if err := oracle.MissingInclude(diags); err != nil {
		return nil, method, err
	}
	shift := strings.Count(wrap.String(), "\n")
	var out []*Free
	seen := map[string]bool{}
	for i, d := range diags {
		if d.Severity != "error" || !strings.Contains(d.Message, freeMarker) {
			continue
		}
		call := d.Message[strings.Index(d.Message, freeMarker)+len(freeMarker):]
		call = strings.TrimRight(call, "\"")
		// the use site: the outermost expansion of the wrapper macro
		file, line := d.File, d.Line
		for j := i + 1; j < len(diags) && diags[j].Severity == "note"; j++ {
			if expandRE.MatchString(diags[j].Message) {
				file, line = diags[j].File, diags[j].Line
			}
		}
		if strings.HasSuffix(file, ".c") {
			// lines after the inserted wrappers moved down
			f0 := ast.Parse(file, p.File(file))
			if line > f0.Line(gen.InsertionPoint(f0)) {
				line -= shift
			}
		}
		key := fmt.Sprintf("%s:%d:%s", file, line, call)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, locateFree(p, file, line, call))
	}
	return out, method, nil
}

// locateFree finds the free call on a line and the statement holding it.
func locateFree(p *rewrite.Session, file string, line int, call string) *Free {
	fr := &Free{File: file, Line: line, Call: call, Stmt: -1}
	f := p.Parse(file)
	toks := codeTokens(f)
	lineStart, lineEnd := f.Lines.Start(line), f.Lines.Start(line+1)
	for i, t := range toks {
		if t.Off < lineStart || t.Off >= lineEnd || t.Text != call || i+1 >= len(toks) || toks[i+1].Text != "(" {
			continue
		}
		if fn := f.FuncAt(t.Off); fn != nil {
			fr.Fn = fn.Name
		}
		// the argument
		args := splitArgs(toks, i+1)
		if idx, ok := freeFuncs[call]; ok && idx < len(args) {
			fr.Arg = args[idx]
		}
		// a plain statement: "call(...);" right after ';', '{' or '}'
		if i > 0 && (toks[i-1].Text == ";" || toks[i-1].Text == "{" || toks[i-1].Text == "}") {
			fr.Stmt = t.Off
		}
		// the body of an if, else or loop, on a line of its own: a
		// statement added in front needs braces to stay under the
		// condition
		if i > 0 && (toks[i-1].Text == ")" || toks[i-1].Text == "else") && f.Line(toks[i-1].Off) < line &&
			strings.TrimSpace(string(f.Src[lineStart:t.Off])) == "" {
			if _, end := StatementBounds(toks, i); end < len(toks) {
				fr.Stmt, fr.Body, fr.Open, fr.End = t.Off, true, toks[i-1].End, toks[end].End
			}
		}
		break
	}
	return fr
}

// splitArgs returns the argument texts of the call whose '(' is toks[open].
func splitArgs(toks []ast.Token, open int) []string {
	var out []string
	var cur []ast.Token
	depth := 0
	for k := open; k < len(toks); k++ {
		t := toks[k]
		switch t.Text {
		case "(", "[", "{":
			depth++
			if depth == 1 {
				continue
			}
		case ")", "]", "}":
			depth--
			if depth == 0 {
				out = append(out, ast.JoinTokens(cur))
				return out
			}
		case ",":
			if depth == 1 {
				out = append(out, ast.JoinTokens(cur))
				cur = nil
				continue
			}
		}
		cur = append(cur, t)
	}
	return out
}
