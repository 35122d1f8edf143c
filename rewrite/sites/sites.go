// Package sites finds every place where an object of a struct comes into
// existence, with the compiler: the struct is made incomplete in an overlay
// copy of its header and every file the config builds that names it is
// compiled. Each error that needs the layout is a site: a variable
// definition (on the stack or global), a sizeof (an allocation or another
// size use), an embedding, an array, or a use of the struct as a value.
// For each site it also records what a transform needs to judge it: the
// enclosing function, whether the object starts zeroed, and whether it may
// reach another task.
package sites

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
)

// MaxCandidates bounds the files compiled to find creation sites: a struct
// named by more files than this is too widely used to prove anything about
// all of its objects.
const MaxCandidates = 120

// Kind is how a site makes or uses an object of the struct.
type Kind string

// The kinds of site.
const (
	Stack    Kind = "stack"    // a local variable
	Heap     Kind = "heap"     // an allocation sized by the struct
	Global   Kind = "global"   // static storage (starts zeroed)
	Embedded Kind = "embedded" // a member of another struct
	Array    Kind = "array"    // an array of the struct
	Copy     Kind = "copy"     // used as a value: copied, passed or returned
	Size     Kind = "size"     // sizeof used for something other than an allocation
	Zeroing  Kind = "zeroing"  // memset(p, 0, sizeof(*p)): harmless
	PDU      Kind = "pdu"      // the payload blk-mq puts behind each request (tag_set.cmd_size)
	Private  Kind = "private"  // a driver's private area behind a subsystem's object (alloc_etherdev)
)

// Site is a place where an object of the struct comes into existence (or
// where its layout is used in a way that matters).
type Site struct {
	File   string
	Line   int
	Kind   Kind
	Name   string // variable name, for stack and global objects
	Fn     string // enclosing function
	Alloc  string // the allocation function, for heap sites
	Zeroed bool   // the object starts zeroed (zeroing allocator, initializer, memset, static storage)
	Escape string // why the object may reach another task or outlive its function ("" if not)
	Unfit  string // why the site cannot be covered by a livepatch or converted ("" if it can)
	Off    int    // byte offset of the site in File
	// Init and Exit are a blk-mq payload's .init_request and .exit_request
	// callbacks (in File), for PDU sites.
	Init, Exit string
	// Stmt is the text of the statement around Off (tokens joined by
	// spaces), by which Locate finds it again after other edits.
	Stmt   string
	inStmt int    // Off - the offset of the statement's first token
	Call   string // the call a Size site's sizeof is an argument of
}

// statementText returns the tokens of the statement around off, joined,
// and off's distance from the statement's first token.
func statementText(f *ast.File, off int) (string, int) {
	toks := codeTokens(f)
	i := tokenAt(toks, off)
	if i >= len(toks) {
		return "", 0
	}
	start, end := StatementBounds(toks, i)
	return ast.JoinTokens(toks[start:end]), off - toks[start].Off
}

// StatementBounds returns the token range of the statement holding token
// i: from after the previous ';', '{' or '}' to its ';' (exclusive).
func StatementBounds(toks []ast.Token, i int) (int, int) {
	start := i
	for start > 0 && toks[start-1].Text != ";" && toks[start-1].Text != "{" && toks[start-1].Text != "}" {
		start--
	}
	end := i
	for end < len(toks) && toks[end].Text != ";" {
		end++
	}
	return start, end
}

// Locate returns the offset of site st in f, the current text of its
// file: the sites were found in the text the compiler saw, and transforms
// that ran since may have moved it (accessors inserted above it). It looks
// for the same statement in the same function, and returns -1 when it is
// not there exactly once.
func Locate(f *ast.File, st *Site) int {
	if st.Stmt == "" {
		return -1
	}
	toks := codeTokens(f)
	lo, hi := 0, len(toks)
	if st.Fn != "" {
		fn := f.Func(st.Fn)
		if fn == nil {
			return -1
		}
		lo, hi = tokenAt(toks, fn.Body.Off), tokenAt(toks, fn.Body.End)
	}
	found := -1
	for i := lo; i < hi; i++ {
		if i > lo && toks[i-1].Text != ";" && toks[i-1].Text != "{" && toks[i-1].Text != "}" {
			continue
		}
		_, end := StatementBounds(toks, i)
		if end <= hi && ast.JoinTokens(toks[i:end]) == st.Stmt {
			if found >= 0 {
				return -1
			}
			found = toks[i].Off + st.inStmt
		}
	}
	return found
}

func (s *Site) String() string {
	return fmt.Sprintf("%s:%d %s", s.File, s.Line, s.Kind)
}

// Result is the creation sites of one struct and how they were found.
type Result struct {
	Sites   []*Site
	Method  string
	Scanned int
}

// Struct names "struct tag" defined in header.
type Struct struct {
	Header, Tag string
}

// Creation is the fact of the creation sites of a struct. It is an error
// when they cannot be known (no compiler, too many files).
var Creation = &rewrite.Fact[Struct, *Result]{
	Name: "creation sites",
	Doc:  "every place where an object of a struct comes into existence, found by compiling the files that name it with the struct made incomplete",
	Compute: func(s *rewrite.Session, st Struct) (*Result, error) {
		return find(s, st.Header, st.Tag)
	},
}

// Find returns the creation sites of "struct tag" defined in header (the
// Creation fact: p's transform must require it).
func Find(p *rewrite.Pass, header, tag string) (*Result, error) {
	return Creation.Get(p, Struct{header, tag})
}

func find(p *rewrite.Session, header, tag string) (*Result, error) {
	if !p.HasCompiler() {
		return nil, fmt.Errorf("finding every place the struct is created needs the compiler: give --config")
	}
	if header == "" || !change.IsHeader(header) {
		return nil, fmt.Errorf("the struct is not defined in a header")
	}
	pre := ast.Parse(header, p.Original(header))
	s := pre.Struct(tag)
	if s == nil || s.Kind != "struct" {
		return nil, fmt.Errorf("struct %s is not defined in %s before the patch", tag, header)
	}
	names := map[string]bool{tag: true}
	for _, d := range pre.Decls {
		if d.Kind == ast.Typedef && strings.Contains(d.Text, "struct "+tag) {
			names[d.Name] = true
		}
	}
	hu, err := p.Env.HeaderUsers(header)
	if err != nil {
		return nil, err
	}
	var cands []string
	holders := holderMembers(p, header, tag, hu.Candidates())
	for _, u := range hu.Candidates() {
		if namesAny(p.File(u), names) || sizesThrough(p.File(u), holders) || sizesThrough(p.Original(u), holders) {
			cands = append(cands, u)
		}
	}
	for _, f := range p.CurrentSources() {
		if !slices.Contains(cands, f) && (namesAny(p.File(f), names) || sizesThrough(p.File(f), holders)) {
			cands = append(cands, f)
		}
	}
	sort.Strings(cands)
	if len(cands) > MaxCandidates {
		return nil, fmt.Errorf("%d files the config builds can create or use struct %s (more than %d): too widely used to know every object", len(cands), tag, MaxCandidates)
	}
	if why := textualVeto(p, cands, tag); why != "" {
		return nil, fmt.Errorf("%s", why)
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, err
	}
	cands, notHere, err := screen(p, cands)
	if err != nil {
		return nil, err
	}
	res := &Result{Scanned: len(cands),
		Method: fmt.Sprintf("the compiler, with struct %s made incomplete, over the %d files the config builds that include %s and name it (%s)%s", tag, len(cands), header, hu.Method, notHere)}
	files := p.CurrentFiles()
	inc, ok := Incomplete(p.File(header), tag)
	if !ok {
		return nil, fmt.Errorf("kprewrite cannot find struct %s in %s as the patch leaves it, to make it incomplete", tag, header)
	}
	files[header] = inc
	diags, err := o.Diagnostics(p.Context(), files, cands)
	if err != nil {
		return nil, err
	}
	if err := oracle.MissingInclude(diags); err != nil {
		return nil, err
	}
	res.Sites = classify(p, tag, diags)
	return res, nil
}

// holderMembers returns the names of members declared as pointers to
// "struct tag" (the cgrp of "struct nvkm_fifo_cgrp *cgrp;"), read in the
// header, the headers next to it, the headers that include it and the
// candidate sources: a file can allocate the struct through such a member
// ("chan->cgrp = kmalloc(sizeof(*chan->cgrp), ...)") without naming it.
func holderMembers(p *rewrite.Session, header, tag string, srcs []string) map[string]bool {
	re := regexp.MustCompile(`\bstruct\s+` + regexp.QuoteMeta(tag) + `\s*\*+\s*(?:const\s+)?(\w+)\s*[;,\[]`)
	files := append([]string{header}, srcs...)
	if g, err := p.Env.IncludeGraph(); err == nil {
		files = append(files, g.HeaderIncluders(header)...)
	}
	if ents, err := os.ReadDir(filepath.Join(p.Env.Tree.Root(), filepath.FromSlash(path.Dir(header)))); err == nil {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".h") {
				files = append(files, path.Join(path.Dir(header), e.Name()))
			}
		}
	}
	out := map[string]bool{}
	for _, f := range files {
		for _, src := range [][]byte{p.Original(f), p.File(f)} {
			for _, m := range re.FindAllSubmatch(src, -1) {
				out[string(m[1])] = true
			}
		}
	}
	return out
}

// sizesThrough reports whether src takes the size of what one of the
// holder members points to ("sizeof(*chan->cgrp)", "kzalloc_obj(*x.cgrp)").
func sizesThrough(src []byte, members map[string]bool) bool {
	if len(members) == 0 {
		return false
	}
	for _, m := range derefSizeRE.FindAllSubmatch(src, -1) {
		if members[string(m[1])] {
			return true
		}
	}
	return false
}

// derefSizeRE finds "sizeof(*EXPR->m)" and the allocation macros that take
// the object ("kzalloc_obj(*EXPR.m)"), giving m.
var derefSizeRE = regexp.MustCompile(`(?:sizeof|_obj|_objs)\s*\(\s*\*+\s*[\w\[\]().>-]*?(?:->|\.)\s*(\w+)\s*\)`)

// screen keeps the candidates that compile in the base tree: a file that
// does not is no evidence. It returns the kept files and, for the method
// text, the files left out as not built here; a file the config builds
// that does not compile is an error.
func screen(p *rewrite.Session, cands []string) ([]string, string, error) {
	s, err := p.Env.Screen(cands)
	if err != nil {
		return nil, "", err
	}
	if err := s.BrokenError(p.Env); err != nil {
		return nil, "", err
	}
	notHere := ""
	if text := s.NotBuiltHereText(); text != "" {
		notHere = "; " + text
	}
	return s.Files, notHere, nil
}

func namesAny(src []byte, names map[string]bool) bool {
	return ast.NamesAny(ast.Tokenize(src), names)
}

// textualVeto spots creation patterns that rule the transform out without
// compiling: objects from a kmem_cache sized by the struct.
func textualVeto(p *rewrite.Session, files []string, tag string) string {
	re := regexp.MustCompile(`kmem_cache_create(_usercopy)?\s*\([^;]*sizeof\s*\(\s*struct\s+` + regexp.QuoteMeta(tag) + `\s*\)`)
	for _, f := range files {
		if loc := re.FindIndex(p.File(f)); loc != nil {
			return fmt.Sprintf("%s:%d allocates struct %s from a kmem_cache sized by it: objects are long-lived and their size is fixed", f, ast.NewLines(p.File(f)).Line(loc[0]), tag)
		}
	}
	return ""
}

// Incomplete returns the header text src with every definition of "struct
// tag" (a header may define it in several #if branches) replaced by a
// declaration, its lines kept (so no line number moves): every use that
// needs the complete type is then a compiler error. The second result is
// false when src defines no such struct (src is returned as it is).
func Incomplete(src []byte, tag string) ([]byte, bool) {
	f := ast.Parse("h", src)
	var b strings.Builder
	last := 0
	for _, s := range f.Structs {
		if s.Name != tag || s.Parent != nil || s.Kind != "struct" {
			continue
		}
		// keep every newline, so the header's line numbers do not move
		removed := string(src[s.Span.Off:s.Span.End])
		b.Write(src[last:s.Span.Off])
		b.WriteString("struct " + tag + strings.Repeat("\n", strings.Count(removed, "\n")))
		last = s.Span.End
	}
	if last == 0 {
		return src, false
	}
	b.Write(src[last:])
	return []byte(b.String()), true
}

var (
	storageRE   = regexp.MustCompile(`^storage size of '(\w+)' isn't known`)
	sizeofRE    = regexp.MustCompile(`^invalid application of '(sizeof|__alignof__|_Alignof)' to incomplete type`)
	fieldRE     = regexp.MustCompile(`^field '(\w+)' has incomplete type`)
	arrayRE     = regexp.MustCompile(`^array type has incomplete element type`)
	undefRE     = regexp.MustCompile(`^invalid use of undefined type`)
	derefRE     = regexp.MustCompile(`^dereferencing pointer to incomplete type`)
	paramRE     = regexp.MustCompile(`^parameter \d+ \('?(\w*)'?\) has incomplete type|^return type is an incomplete type|has incomplete type$`)
	expandRE    = regexp.MustCompile(`^in expansion of macro '(\w+)'`)
	zeroAllocRE = regexp.MustCompile(`^(kzalloc|kcalloc|kvzalloc|kvcalloc|kzalloc_node|devm_kzalloc|vzalloc|kzalloc_objs?|kvzalloc_objs?)$`)
	allocRE     = regexp.MustCompile(`^(kmalloc|kzalloc|kcalloc|kmalloc_array|kvmalloc|kvzalloc|kvcalloc|kmalloc_node|kzalloc_node|devm_kzalloc|devm_kmalloc|vmalloc|vzalloc|k[v]?[mz]alloc_objs?)$`)
	escapeRE    = regexp.MustCompile(`^(queue_work|queue_delayed_work|schedule_work|schedule_delayed_work|mod_delayed_work|call_rcu|kfree_rcu|kthread_run|kthread_create|list_add|list_add_tail|list_add_rcu|list_add_tail_rcu|hlist_add_head|hlist_add_head_rcu|rcu_assign_pointer|xa_store|idr_alloc|radix_tree_insert|rb_link_node|WRITE_ONCE|smp_store_release|tasklet_init|timer_setup|add_timer|mod_timer|init_completion|wait_for_completion)$`)
	readerMacs  = map[string]bool{"container_of": true, "container_of_const": true, "list_entry": true, "list_first_entry": true, "hlist_entry": true, "offsetof": true}
)

// classify turns the compiler's messages into creation sites.
func classify(p *rewrite.Session, tag string, diags []build.Diagnostic) []*Site {
	var out []*Site
	seen := map[string]bool{}
	for i, d := range diags {
		if d.Severity != "error" {
			continue
		}
		// the outermost expansion site in a .c file, for errors in macros
		file, line, col := d.File, d.Line, d.Col
		var macros []string
		for j := i + 1; j < len(diags) && diags[j].Severity == "note"; j++ {
			if m := expandRE.FindStringSubmatch(diags[j].Message); m != nil {
				macros = append(macros, m[1])
				file, line, col = diags[j].File, diags[j].Line, diags[j].Col
			}
		}
		if !strings.HasSuffix(file, ".c") && !strings.HasSuffix(file, ".h") {
			continue
		}
		f := p.Parse(file)
		off := f.Lines.Start(line) + col - 1
		st := &Site{File: file, Line: line, Off: off}
		st.Stmt, st.inStmt = statementText(f, off)
		if fn := f.FuncAt(off); fn != nil {
			st.Fn = fn.Name
		}
		msg := d.Message
		switch {
		case storageRE.MatchString(msg):
			st.Name = storageRE.FindStringSubmatch(msg)[1]
			if st.Fn == "" {
				st.Kind, st.Zeroed = Global, true // static storage starts zeroed
				st.Unfit = "a global object that exists before the livepatch loads"
			} else {
				st.Kind = Stack
				st.Escape = stackEscape(f, st)
				st.Zeroed = stackZeroed(f, st)
			}
		case sizeofRE.MatchString(msg):
			st.Kind = Size
			call := enclosingCall(f, off)
			if call == "" && len(macros) > 0 {
				// the sizeof is inside a macro: the allocation macros of
				// Linux 7.x (kzalloc_obj(*p)) take no sizeof of their own
				call = macros[len(macros)-1]
			}
			switch {
			case pduSite(f, off):
				classifyPDU(p, f, st, tag)
			case classifyPrivate(p, st, tag, call):
			case allocRE.MatchString(call):
				st.Kind, st.Alloc = Heap, call
				st.Escape = heapEscape(f, st)
				st.Zeroed = zeroAllocRE.MatchString(call) || heapZeroed(f, st)
			case call == "memset":
				st.Kind = Zeroing // memset(p, 0, sizeof(*p)): harmless
			case st.Fn == "":
				st.Unfit = "sizeof outside a function"
			default:
				st.Call = call
				st.Unfit = "sizeof(struct " + tag + ") used for something other than an allocation (" + call + ")"
			}
		case fieldRE.MatchString(msg):
			st.Kind, st.Unfit = Embedded, "embedded in another struct ("+fieldRE.FindStringSubmatch(msg)[1]+")"
		case arrayRE.MatchString(msg):
			st.Kind, st.Unfit = Array, "an array of the struct"
			// an array outside functions is static storage, zeroed; an
			// array member of a struct is made with its container
			st.Zeroed = st.Fn == "" && !inStructBody(f, off)
		case undefRE.MatchString(msg) || derefRE.MatchString(msg):
			if isMemberAccess(f, off) || anyReader(macros) || len(macros) > 0 && (argsAccessMember(f, off) || spelledAccess(p, d)) {
				continue // a use of a member: fine
			}
			st.Kind, st.Unfit = Copy, "the struct is used as a value (copied, compared or built as a compound literal)"
		case paramRE.MatchString(msg):
			st.Kind, st.Unfit = Copy, "passed or returned by value"
		default:
			continue // errors that follow from others
		}
		if st.Fn != "" && st.Unfit == "" {
			if fn := f.FuncAt(off); fn != nil && (fn.Has("__init") || fn.Has("__exit") || fn.Has("notrace") || fn.IsInline() && change.IsHeader(file)) {
				st.Unfit = "in " + fn.Name + ", which a livepatch cannot replace (init/exit, notrace or a header inline)"
			}
		}
		key := fmt.Sprintf("%s:%d:%s:%s", st.File, st.Line, st.Kind, st.Name)
		if !seen[key] {
			seen[key] = true
			out = append(out, st)
		}
	}
	return out
}

func anyReader(ms []string) bool {
	for _, m := range ms {
		if readerMacs[m] {
			return true
		}
	}
	return false
}

// CodeTokens returns the file's tokens without comments and directives.
func CodeTokens(f *ast.File) []ast.Token { return f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)}) }

func codeTokens(f *ast.File) []ast.Token { return CodeTokens(f) }

// UsesMember reports whether fn names member after "->" or ".".
func UsesMember(f *ast.File, fn *ast.Func, member string) bool {
	return NamesMember(f.CodeTokens(fn.Span), member)
}

// NamesMember reports whether toks name member after "->" or ".".
func NamesMember(toks []ast.Token, member string) bool {
	for i := 1; i < len(toks); i++ {
		if toks[i].Text == member && (toks[i-1].Text == "->" || toks[i-1].Text == ".") {
			return true
		}
	}
	return false
}

// TokenAt returns the index of the token that contains or follows off.
func TokenAt(toks []ast.Token, off int) int { return tokenAt(toks, off) }

// EnclosingParen finds the '(' whose parentheses hold token i, looking
// back at most limit tokens (0: no limit) and not past a statement's end:
// its index and the position of the argument i is in (0 for the first),
// or ok false.
func EnclosingParen(toks []ast.Token, i, limit int) (open, arg int, ok bool) {
	depth := 0
	for k := i - 1; k >= 0 && (limit == 0 || k > i-limit); k-- {
		switch toks[k].Text {
		case ")", "]":
			depth++
		case "[":
			depth--
		case ",":
			if depth == 0 {
				arg++
			}
		case "(":
			if depth > 0 {
				depth--
				continue
			}
			return k, arg, true
		case ";", "{", "}":
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// CallArgs returns the token ranges of the arguments of the call whose
// '(' is toks[open], and the index of its ')' (-1 when unbalanced).
func CallArgs(toks []ast.Token, open int) ([][2]int, int) {
	var args [][2]int
	depth, start := 0, open+1
	for j := open + 1; j < len(toks); j++ {
		switch toks[j].Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth > 0 {
				depth--
				continue
			}
			if j > start {
				args = append(args, [2]int{start, j})
			}
			return args, j
		case ",":
			if depth == 0 {
				args = append(args, [2]int{start, j})
				start = j + 1
			}
		}
	}
	return nil, -1
}

func tokenAt(toks []ast.Token, off int) int {
	return sort.Search(len(toks), func(i int) bool { return toks[i].End > off })
}

// isMemberAccess reports whether the error at off is on a '->' or '.'.
func isMemberAccess(f *ast.File, off int) bool { return accessAt(codeTokens(f), off) >= 0 }

// accessAt returns the index in toks of the '->' or '.' of the member
// access a diagnostic at off is about, or -1: gcc points at the operator,
// or at the member when it suggests a similar name ("did you mean
// 'init_pkt_type'?").
func accessAt(toks []ast.Token, off int) int {
	i := tokenAt(toks, off)
	if i >= len(toks) {
		return -1
	}
	if t := toks[i].Text; t == "->" || t == "." {
		return i
	}
	if i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".") && toks[i].Kind == ast.Ident {
		return i - 1
	}
	return -1
}

// spelledAccess reports whether the error's own location (inside a macro
// definition, for an error in an expansion) is a member access.
func spelledAccess(p *rewrite.Session, d build.Diagnostic) bool {
	if !strings.HasSuffix(d.File, ".h") && !strings.HasSuffix(d.File, ".c") {
		return false
	}
	f := p.Parse(d.File)
	if d.Line > f.Lines.Count() {
		return false
	}
	off := f.Lines.Start(d.Line) + d.Col - 1
	for _, t := range f.Tokens {
		if t.Kind == ast.Directive && t.Off <= off && off < t.End {
			for _, x := range ast.Tokenize([]byte(t.Text[1:])) {
				o := t.Off + 1 + x.Off
				if o == off {
					return x.Text == "->" || x.Text == "."
				}
			}
		}
	}
	return isMemberAccess(f, off)
}

// argsAccessMember reports whether the macro call at off (the outermost
// expansion of an error) has a member access in its arguments, as in
// READ_ONCE(slave->last_rx): the error is that access.
func argsAccessMember(f *ast.File, off int) bool {
	toks := codeTokens(f)
	i := tokenAt(toks, off)
	if i+1 >= len(toks) || toks[i].Kind != ast.Ident || toks[i+1].Text != "(" {
		return false
	}
	depth := 0
	for k := i + 1; k < len(toks); k++ {
		switch toks[k].Text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return false
			}
		case "->", ".":
			if k+1 < len(toks) && toks[k+1].Kind == ast.Ident {
				return true
			}
		}
	}
	return false
}

// enclosingCall returns the function called around off ("kzalloc" for
// kzalloc(sizeof(*p), GFP_KERNEL)).
func enclosingCall(f *ast.File, off int) string {
	toks := codeTokens(f)
	i := tokenAt(toks, off)
	depth := 0
	for k := i; k >= 0 && k > i-40; k-- {
		switch toks[k].Text {
		case ")":
			depth++
		case "(":
			if depth == 0 {
				if k > 0 && toks[k-1].Kind == ast.Ident && toks[k-1].Text != "sizeof" {
					return toks[k-1].Text
				}
			} else {
				depth--
			}
		case ";", "{", "}":
			return ""
		}
	}
	return ""
}

// stackEscape says why a stack object may reach another task, or "".
func stackEscape(f *ast.File, st *Site) string {
	fn := f.FuncAt(st.Off)
	if fn == nil {
		return ""
	}
	toks := f.CodeTokens(fn.Body)
	for i, t := range toks {
		if t.Text != st.Name || t.Kind != ast.Ident {
			continue
		}
		// &name or &name.member handed to an asynchronous API, or stored
		if i > 0 && toks[i-1].Text == "&" {
			if call := callAround(toks, i); escapeRE.MatchString(call) {
				return fmt.Sprintf("its address goes to %s(), so another task may see it", call)
			}
			if stored(toks, i-1) {
				return "its address is stored beyond the function"
			}
		}
	}
	return ""
}

// stackZeroed reports whether a stack variable starts zeroed: it has an
// initializer ("= { ... }" zero-fills what it does not name) or is memset.
func stackZeroed(f *ast.File, st *Site) bool {
	toks := codeTokens(f)
	i := tokenAt(toks, st.Off)
	for k := i; k < len(toks) && k < i+4; k++ {
		if toks[k].Text == "=" && k+1 < len(toks) && toks[k+1].Text == "{" {
			return true
		}
		if toks[k].Text == ";" {
			break
		}
	}
	return memsetOf(f, st, st.Name, true)
}

// heapZeroed reports whether a heap object is memset to zero after the allocation.
func heapZeroed(f *ast.File, st *Site) bool {
	return memsetOf(f, st, heapVar(f, st), false)
}

// memsetOf reports whether the function memsets name (or &name) to 0.
func memsetOf(f *ast.File, st *Site, name string, addr bool) bool {
	fn := f.FuncAt(st.Off)
	if fn == nil || name == "" {
		return false
	}
	toks := f.CodeTokens(fn.Body)
	for k := 0; k+4 < len(toks); k++ {
		if toks[k].Text != "memset" || toks[k+1].Text != "(" {
			continue
		}
		j := k + 2
		if addr && toks[j].Text == "&" {
			j++
		}
		if toks[j].Text == name && toks[j+1].Text == "," && j+2 < len(toks) && toks[j+2].Text == "0" {
			return true
		}
	}
	return false
}

// heapVar returns the local variable an allocation is assigned to ("p"
// in "p = kzalloc(...)"), or "" when it goes anywhere else: a member
// ("drm->led = kzalloc(...)": the object lives as long as its holder),
// through a pointer ("*pp = ...") or into an array element.
func heapVar(f *ast.File, st *Site) string {
	fn := f.FuncAt(st.Off)
	if fn == nil {
		return ""
	}
	toks := f.CodeTokens(fn.Body)
	i := tokenAt(toks, st.Off)
	for k := i; k >= 1; k-- {
		if toks[k].Text == "=" && toks[k-1].Kind == ast.Ident {
			if k >= 2 && (toks[k-2].Text == "->" || toks[k-2].Text == ".") {
				return ""
			}
			if k >= 2 && toks[k-2].Text == "*" && (k == 2 || toks[k-3].Text == ";" || toks[k-3].Text == "{" || toks[k-3].Text == "}" || toks[k-3].Text == ")") {
				return "" // *pp = ...: a statement, not a declaration "T *p = ..."
			}
			return toks[k-1].Text
		}
		if toks[k].Text == ";" || toks[k].Text == "{" {
			break
		}
	}
	return ""
}

// heapEscape says why a heap object may outlive its creating function.
func heapEscape(f *ast.File, st *Site) string {
	fn := f.FuncAt(st.Off)
	if fn == nil {
		return "allocated outside a function"
	}
	toks := f.CodeTokens(fn.Body)
	name := heapVar(f, st)
	if name == "" {
		return "the allocation is not assigned to a local variable"
	}
	freed := false
	for k, t := range toks {
		if t.Text != name || t.Kind != ast.Ident {
			continue
		}
		if call := callAround(toks, k); call == "kfree" || call == "kvfree" {
			freed = true
		} else if escapeRE.MatchString(call) {
			return fmt.Sprintf("the object goes to %s(), so another task may see it", call)
		}
		if k > 0 && toks[k-1].Text == "return" {
			return "the object is returned to the caller and may be kept"
		}
		if stored(toks, k) {
			return "the object is stored beyond the function"
		}
	}
	if !freed {
		return "the object is not freed in the function that creates it: it may be kept"
	}
	return ""
}

// callAround returns the function whose argument list holds toks[i].
func callAround(toks []ast.Token, i int) string {
	depth := 0
	for k := i; k >= 0; k-- {
		switch toks[k].Text {
		case ")":
			depth++
		case "(":
			if depth == 0 {
				if k > 0 && toks[k-1].Kind == ast.Ident {
					return toks[k-1].Text
				}
				return ""
			}
			depth--
		case ";", "{", "}":
			return ""
		}
	}
	return ""
}

// stored reports whether the expression starting at toks[i] is the value
// of an assignment to something other than a plain local ("x->y = &v").
func stored(toks []ast.Token, i int) bool {
	if i < 2 || toks[i-1].Text != "=" {
		return false
	}
	// walk back over the left-hand side
	for k := i - 2; k >= 0; k-- {
		switch toks[k].Text {
		case "->", ".", "[", "]":
			return true
		case ";", "{", "}", ",", "(":
			return false
		}
	}
	return false
}
