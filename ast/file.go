package ast

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Span is a byte range [Off, End) of the source.
type Span struct{ Off, End int }

// Contains reports whether off lies in the span.
func (s Span) Contains(off int) bool { return off >= s.Off && off < s.End }

// Overlaps reports whether two spans share a byte.
func (s Span) Overlaps(o Span) bool { return s.Off < o.End && o.Off < s.End }

// File is the model of one C source or header file.
type File struct {
	Name   string
	Src    []byte
	Tokens []Token // every token, comments and directives included
	Lines  Lines

	Structs  []*Struct    // struct and union definitions, nested named ones included
	Enums    []*Enum      // enum definitions
	Funcs    []*Func      // function definitions
	Macros   []*Macro     // #define and #undef lines
	Vars     []*Var       // file-scope variable definitions and extern declarations
	Decls    []*Decl      // prototypes, typedefs and forward declarations
	Includes []*Include   // #include lines
	Calls    []*MacroCall // file-scope macro invocations: EXPORT_SYMBOL(x); DEFINE_MUTEX(m); ...
	// MacroStructs are the structs that file-scope macro invocations define
	// (TRACE_EVENT(x, ...): struct trace_event_raw_x and struct
	// trace_event_data_offsets_x), with the members the macros give them.
	// They are not in Structs: their text is the invocation, not a
	// definition an edit could change member by member.
	MacroStructs []*Struct

	Guard string // the include guard macro, if the file has one

	conds []condMark
}

// CondTerm is one term of the condition under which code is compiled: the
// #if expression Expr must evaluate to Want.
type CondTerm struct {
	Expr string
	Want bool
}

// Cond is the conjunction of the #if/#ifdef/#elif/#else conditions around a
// piece of code, outermost first. An empty Cond means "always".
type Cond []CondTerm

func (c Cond) String() string {
	var parts []string
	for _, t := range c {
		if t.Want {
			parts = append(parts, t.Expr)
		} else {
			parts = append(parts, "!("+t.Expr+")")
		}
	}
	return strings.Join(parts, " && ")
}

// And returns c with the terms of o it does not hold yet appended (a new
// slice when o adds any).
func (c Cond) And(o Cond) Cond {
	out := c
	for _, t := range o {
		if !slices.Contains(out, t) {
			out = append(slices.Clip(out), t)
		}
	}
	return out
}

// Equal reports whether two conditions are the same.
func (c Cond) Equal(o Cond) bool {
	if len(c) != len(o) {
		return false
	}
	for i := range c {
		if c[i] != o[i] {
			return false
		}
	}
	return true
}

type condMark struct {
	off  int
	cond Cond
}

// Struct is a struct or union definition.
type Struct struct {
	Kind    string // "struct" or "union"
	Name    string // tag, "" when anonymous
	Span    Span   // keyword to closing brace
	Body    Span   // between the braces, exclusive
	Members []*Member
	Cond    Cond
	Parent  *Member // for a nested definition: the member it belongs to
	Macro   string  // for a struct in File.MacroStructs: the macro that defines it
}

// Member is one declarator in a struct or union body.
type Member struct {
	Name   string   // "" for an anonymous struct/union or a macro-made member
	Type   string   // type text, normalised ("struct net_device *", "u8")
	Bits   string   // bitfield width expression, "" if not a bitfield
	Array  []string // array dimensions, outermost first
	Decl   Span     // the whole declaration statement, ';' included
	NameAt Span     // the name token (zero for anonymous members)
	Cond   Cond
	Nested *Struct // inline struct/union definition that is the member's type
	Macro  string  // a member made by a macro (DECLARE_BITMAP(...)): its text
	// Names are the members a macro-made member declares as the compiler
	// sees them, in order, those of anonymous structs and unions in their
	// place ("mask" for DECLARE_BITMAP(mask, 8); "x", "__x" for
	// NET_DEV_STAT(x)); nil when ast does not know the macro.
	Names   []string
	Group   int    // index of the declaration statement in the body
	Comment string // a comment on the same line, if any
}

// IsBitfield reports whether the member is a bitfield.
func (m *Member) IsBitfield() bool { return m.Bits != "" }

// Enum is an enum definition.
type Enum struct {
	Name   string
	Span   Span
	Values []Enumerator
	Cond   Cond
}

// Enumerator is one enum constant.
type Enumerator struct {
	Name, Value string // Value is "" when implicit
	Span        Span
}

// Func is a function definition.
type Func struct {
	Name         string
	Span         Span     // from the first specifier to the closing brace
	Header       Span     // specifiers, declarator and parameters
	Body         Span     // '{' to '}' inclusive
	Attrs        []string // specifiers and attributes: static, inline, __init, notrace, ...
	Cond         Cond
	StaticLocals []*Var
	Macro        string // SYSCALL_DEFINE3 and the like, when a macro makes the definition
}

// Has reports whether the function carries the specifier or attribute a.
func (f *Func) Has(a string) bool {
	for _, x := range f.Attrs {
		if x == a {
			return true
		}
	}
	return false
}

// IsInline reports whether the function is declared inline in any spelling.
func (f *Func) IsInline() bool {
	return f.Has("inline") || f.Has("__inline") || f.Has("__inline__") || f.Has("__always_inline")
}

// Macro is a #define (or #undef) line.
type Macro struct {
	Name     string
	Params   []string
	FuncLike bool
	Body     string // replacement text with comments removed and whitespace collapsed
	Span     Span
	Cond     Cond
	Undef    bool
}

// Var is a variable definition or declaration.
type Var struct {
	Name     string
	Type     string
	Span     Span  // the whole declaration statement
	Init     *Span // the initializer after '=', nil when there is none
	InitText string
	Attrs    []string
	Static   bool
	Extern   bool
	Const    bool
	Cond     Cond
	Func     *Func // enclosing function, for static locals
}

// DeclKind classifies a Decl.
type DeclKind string

// Declaration kinds.
const (
	Prototype DeclKind = "prototype"
	Typedef   DeclKind = "typedef"
	Forward   DeclKind = "forward"
)

// Decl is a declaration that defines no storage.
type Decl struct {
	Kind DeclKind
	Name string
	Span Span
	Text string // normalised text, for comparison
	Cond Cond
}

// Include is an #include line.
type Include struct {
	Path   string
	System bool // <...> rather than "..."
	Span   Span
	Cond   Cond
}

// MacroCall is a file-scope macro invocation statement.
type MacroCall struct {
	Name   string
	Args   []string
	Span   Span
	Cond   Cond
	Static bool
}

// Parse builds the model of one file. It never fails; text it does not
// understand is skipped.
func Parse(name string, src []byte) *File {
	f := &File{Name: name, Src: src, Lines: NewLines(src)}
	f.Tokens = Tokenize(src)
	f.directives()
	var code []Token
	for _, t := range f.Tokens {
		if t.Kind != Comment && t.Kind != Directive {
			code = append(code, t)
		}
	}
	f.scanTop(code)
	f.macroStructs()
	f.definedStructs()
	return f
}

// Line returns the 1-based line of an offset.
func (f *File) Line(off int) int { return f.Lines.Line(off) }

// Text returns the source text of a span.
func (f *File) Text(s Span) string { return string(f.Src[s.Off:s.End]) }

// CondAt returns the preprocessor condition in force at offset off.
func (f *File) CondAt(off int) Cond {
	i := sort.Search(len(f.conds), func(i int) bool { return f.conds[i].off > off })
	if i == 0 {
		return nil
	}
	return f.conds[i-1].cond
}

// Struct returns the first struct or union definition with the given tag
// (a header may define one in several #if branches: see Structs).
func (f *File) Struct(name string) *Struct {
	for _, s := range f.Structs {
		if s.Name == name && s.Parent == nil {
			return s
		}
	}
	return nil
}

// Func returns the function definition with the given name.
func (f *File) Func(name string) *Func {
	for _, fn := range f.Funcs {
		if fn.Name == name {
			return fn
		}
	}
	return nil
}

// Definitions returns the definitions (with a body) of function name: one
// for each #if branch that has one, in file order.
func (f *File) Definitions(name string) []*Func {
	var out []*Func
	for _, fn := range f.Funcs {
		if fn.Name == name && fn.Body.End > fn.Body.Off {
			out = append(out, fn)
		}
	}
	return out
}

// FuncAt returns the function whose definition contains offset off.
func (f *File) FuncAt(off int) *Func {
	for _, fn := range f.Funcs {
		if fn.Span.Contains(off) {
			return fn
		}
	}
	return nil
}

// Macro returns the last #define of name.
func (f *File) Macro(name string) *Macro {
	var last *Macro
	for _, m := range f.Macros {
		if m.Name == name && !m.Undef {
			last = m
		}
	}
	return last
}

// directives processes preprocessor lines: conditions, macros, includes.
func (f *File) directives() {
	type frame struct {
		terms []CondTerm // terms of this level for the current branch
		prev  []string   // expressions of earlier branches
		guard bool
	}
	var stack []frame
	snapshot := func() Cond {
		var c Cond
		for _, fr := range stack {
			if fr.guard {
				continue
			}
			c = append(c, fr.terms...)
		}
		return c
	}
	var dirs []Token
	for _, t := range f.Tokens {
		if t.Kind == Directive {
			dirs = append(dirs, t)
		}
	}
	for i, t := range dirs {
		name, rest := DirectiveName(t)
		rest = stripComments(rest)
		switch name {
		case "if", "ifdef", "ifndef":
			expr := rest
			switch name {
			case "ifdef":
				expr = "defined(" + rest + ")"
			case "ifndef":
				expr = "!defined(" + rest + ")"
			}
			fr := frame{terms: []CondTerm{{expr, true}}, prev: []string{expr}}
			if name == "ifndef" && i == 0 && i+1 < len(dirs) {
				if n2, r2 := DirectiveName(dirs[i+1]); n2 == "define" && strings.Fields(r2 + " x")[0] == rest && f.firstCode() >= t.Off {
					fr.guard = true
					f.Guard = rest
				}
			}
			stack = append(stack, fr)
		case "elif", "else":
			if len(stack) == 0 {
				continue
			}
			fr := &stack[len(stack)-1]
			var terms []CondTerm
			for _, p := range fr.prev {
				terms = append(terms, CondTerm{p, false})
			}
			if name == "elif" {
				terms = append(terms, CondTerm{rest, true})
				fr.prev = append(fr.prev, rest)
			}
			fr.terms = terms
		case "endif":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case "define", "undef":
			m := parseMacro(t, name == "undef")
			if m != nil {
				m.Cond = snapshot()
				f.Macros = append(f.Macros, m)
			}
		case "include":
			inc := &Include{Span: Span{t.Off, t.End}, Cond: snapshot()}
			r := strings.TrimSpace(rest)
			if strings.HasPrefix(r, "<") && strings.Contains(r, ">") {
				inc.Path = r[1:strings.Index(r, ">")]
				inc.System = true
			} else if strings.HasPrefix(r, `"`) && strings.Count(r, `"`) >= 2 {
				inc.Path = r[1 : 1+strings.Index(r[1:], `"`)]
			} else {
				inc.Path = r // computed include
			}
			f.Includes = append(f.Includes, inc)
		}
		f.conds = append(f.conds, condMark{off: t.End, cond: snapshot()})
	}
}

// firstCode returns the offset of the first token that is not a comment.
func (f *File) firstCode() int {
	for _, t := range f.Tokens {
		if t.Kind != Comment {
			return t.Off
		}
	}
	return len(f.Src)
}

var commentRE = regexp.MustCompile(`(?s)/\*.*?\*/|//.*$`)

func stripComments(s string) string {
	return strings.TrimSpace(commentRE.ReplaceAllString(s, " "))
}

// parseMacro reads a #define or #undef directive.
func parseMacro(t Token, undef bool) *Macro {
	// Tokenize the directive text after '#'.
	text := strings.ReplaceAll(t.Text, "\\\n", "  ")
	hash := strings.IndexByte(text, '#')
	body := text[hash+1:]
	toks := Tokenize([]byte(body))
	var code []Token
	for _, tk := range toks {
		if tk.Kind != Comment {
			code = append(code, tk)
		}
	}
	if len(code) < 2 || code[1].Kind != Ident {
		return nil
	}
	m := &Macro{Name: code[1].Text, Span: Span{t.Off, t.End}, Undef: undef}
	if undef {
		return m
	}
	rest := code[2:]
	bodyStart := code[1].End
	if len(rest) > 0 && rest[0].Text == "(" && rest[0].Off == code[1].End {
		m.FuncLike = true
		k := 1
		for ; k < len(rest) && rest[k].Text != ")"; k++ {
			if rest[k].Kind == Ident || rest[k].Text == "..." {
				m.Params = append(m.Params, rest[k].Text)
			}
		}
		if k < len(rest) {
			bodyStart = rest[k].End
			rest = rest[k+1:]
		} else {
			rest = nil
		}
	}
	_ = bodyStart
	m.Body = joinTokens(rest)
	return m
}

// Words that can precede or follow a declarator without being a type or name.
var storageWords = map[string]bool{
	"static": true, "extern": true, "inline": true, "__inline": true, "__inline__": true,
	"__always_inline": true, "noinline": true, "notrace": true, "noinstr": true,
	"asmlinkage": true, "register": true, "auto": true, "_Thread_local": true, "__thread": true,
	"const": true, "volatile": true, "__cold": true, "__weak": true, "__visible": true,
	"__init": true, "__exit": true, "__ref": true, "__meminit": true, "__sched": true,
	"__maybe_unused": true, "__used": true, "__always_unused": true, "__noreturn": true,
	"noinline_for_stack": true, "__must_check": true, "__latent_entropy": true,
	"__initdata": true, "__initconst": true, "__exitdata": true, "__refdata": true,
	"__read_mostly": true, "__ro_after_init": true, "__meminitdata": true,
	"__initdata_or_module": true, "__packed": true, "__cacheline_aligned": true,
	"__cacheline_aligned_in_smp": true, "____cacheline_aligned": true,
	"____cacheline_aligned_in_smp": true, "__page_aligned_data": true, "__page_aligned_bss": true,
	"____cacheline_internodealigned_in_smp": true, "__randomize_layout": true, "__no_randomize_layout": true, "__nonstring": true,
	"__attribute__": true, "__attribute": true, "__aligned": true, "__section": true,
	"__printf": true, "__scanf": true, "__counted_by": true, "__acquires": true,
	"__releases": true, "__must_hold": true, "__no_kcsan": true, "__no_sanitize_address": true,
	"__flatten": true, "__alias": true, "__malloc": true, "__pure": true, "__gnu_inline": true,
	// annotations of newer kernels: KCSAN's __data_racy (volatile under
	// KCSAN, like the qualifier), sparse's __private, the context analysis
	// and bounds attributes
	"__data_racy": true, "__private": true, "__guarded_by": true, "__pt_guarded_by": true,
	"__counted_by_ptr": true, "__counted_by_le": true, "__counted_by_be": true,
}

var typeLikeRE = regexp.MustCompile(`^__(u|s|be|le)(8|16|32|64|128)$|^__kernel_|^__wsum$|^__sum16$|^__poll_t$|^__bitwise$`)

// onlyAttributes reports whether toks are attribute words only, each
// with its own parenthesised arguments ("__aligned(8) __randomize_layout").
func onlyAttributes(toks []Token) bool {
	for k := 0; k < len(toks); k++ {
		if toks[k].Kind != Ident || !isAttrWord(toks[k].Text) {
			return false
		}
		if k+1 < len(toks) && toks[k+1].Text == "(" {
			c := matchClose(toks, k+1)
			if c < 0 {
				return false
			}
			k = c
		}
	}
	return len(toks) > 0
}

// isAttrWord reports whether an identifier is a known specifier or
// attribute rather than part of a type or a name.
func isAttrWord(s string) bool { return storageWords[s] }

// isAttrLike is the looser test used around function headers, where any
// __-prefixed word that is not a type name is taken as an attribute
// (__init, __cold, __acquires(x), ...).
func isAttrLike(s string) bool {
	if storageWords[s] {
		return true
	}
	return strings.HasPrefix(s, "__") && !typeLikeRE.MatchString(s) && !strings.HasPrefix(s, "__user") &&
		s != "__iomem" && s != "__percpu" && s != "__rcu" && s != "__force" && s != "__signed__"
}

// layoutMarkers are kernel macros that stand alone in a struct body.
var layoutMarkers = map[string]bool{
	"randomized_struct_fields_start": true, "randomized_struct_fields_end": true,
}

// matchClose returns the index of the token closing the group opened at i.
func matchClose(code []Token, i int) int {
	open := code[i].Text
	closer := map[string]string{"(": ")", "[": "]", "{": "}"}[open]
	depth := 0
	for j := i; j < len(code); j++ {
		switch code[j].Text {
		case open:
			if code[j].Kind == Punct {
				depth++
			}
		case closer:
			if code[j].Kind == Punct {
				depth--
				if depth == 0 {
					return j
				}
			}
		}
	}
	return len(code) - 1
}

func isOpen(t Token) bool {
	return t.Kind == Punct && (t.Text == "(" || t.Text == "[" || t.Text == "{")
}
func isClose(t Token) bool {
	return t.Kind == Punct && (t.Text == ")" || t.Text == "]" || t.Text == "}")
}

// scanTop walks the file-scope token stream chunk by chunk.
func (f *File) scanTop(code []Token) {
	i := 0
	for i < len(code) {
		start := i
		if f.loneMacro(code, i) {
			// an object-like macro of this file alone on its line, with no
			// ';' (SOFTIRQ_NAME_LIST in include/trace/events/irq.h): a
			// statement of its own, not the start of the next one
			f.Calls = append(f.Calls, &MacroCall{Name: code[i].Text, Span: Span{code[i].Off, code[i].End}, Cond: f.CondAt(code[i].Off)})
			i++
			continue
		}
		if end := macroStatement(f.Src, code, i); end > i {
			// NAME(args) with no ';' after it: DEFINE_FREE(...), DEFINE_GUARD(...)
			f.addDecl(code[i:end+1], false, nil)
			i = end + 1
			continue
		}
		depth := 0
		j := i
		done := false
		for j < len(code) && !done {
			t := code[j]
			switch {
			case t.Kind == Punct && (t.Text == "(" || t.Text == "["):
				depth++
			case t.Kind == Punct && (t.Text == ")" || t.Text == "]"):
				depth--
			case t.Kind == Punct && t.Text == "{" && depth <= 0:
				end := matchClose(code, j)
				if end <= j || code[end].Text != "}" {
					return // unbalanced to the end of the file
				}
				if looksLikeFuncHeader(code[start:j]) {
					f.addFunc(code, start, j, end)
					i = end + 1
					done = true
					continue
				}
				j = end
			case t.Kind == Punct && t.Text == ";" && depth <= 0:
				f.addDecl(code[start:j+1], false, nil)
				i = j + 1
				done = true
				continue
			case t.Kind == Punct && t.Text == "}" && depth <= 0:
				i = j + 1 // stray brace (unbalanced #if branches)
				done = true
				continue
			}
			j++
		}
		if !done {
			if start < len(code) && looksLikeFuncHeader(code[start:]) {
				// a definition cut short at the end of the file: ignore
			}
			return
		}
	}
}

// loneMacro reports whether code[i] is an identifier that this file
// #defines as an object-like macro, alone on its line: followed by a token
// on a later line that neither continues it nor opens a body
// (error_detector_list in include/trace/events/error_report.h).
func (f *File) loneMacro(code []Token, i int) bool {
	if code[i].Kind != Ident || i+1 >= len(code) {
		return false
	}
	if i > 0 && !strings.Contains(string(f.Src[code[i-1].End:code[i].Off]), "\n") {
		return false
	}
	next := code[i+1]
	if !strings.Contains(string(f.Src[code[i].End:next.Off]), "\n") {
		return false
	}
	switch next.Text {
	case ";", "{", "(", "=", ",", "[", ":", "*":
		return false
	}
	for _, m := range f.Macros {
		if m.Name == code[i].Text && !m.Undef && !m.FuncLike {
			return true
		}
	}
	return false
}

// macroStatement returns the index of the ')' that ends a macro invocation
// written as a statement without a ';' at code[i] (DEFINE_FREE(...),
// DEFINE_GUARD(...) and other macros that expand to whole definitions): an
// upper-case name, its arguments, and the next token on a later line (or
// another such macro on the same line) that neither opens a body nor
// continues the statement. It returns -1 for anything else.
func macroStatement(src []byte, code []Token, i int) int {
	if i+1 >= len(code) || code[i].Kind != Ident || !isMacroName(code[i].Text) || code[i+1].Text != "(" {
		return -1
	}
	close := matchClose(code, i+1)
	if close <= i+1 || code[close].Text != ")" {
		return -1
	}
	if close+1 == len(code) {
		return close
	}
	next := code[close+1]
	sameLine := !strings.Contains(string(src[code[close].End:next.Off]), "\n")
	if sameLine && !(next.Kind == Ident && isMacroName(next.Text) && close+2 < len(code) && code[close+2].Text == "(") {
		// only another macro statement may follow on the same line:
		// PAGEFLAG(Error, error, PF_NO_TAIL) TESTCLEARFLAG(Error, error, PF_NO_TAIL)
		return -1
	}
	switch next.Text {
	case ";", "{", "(", "=", ",", "[", ":":
		return -1
	}
	if next.Kind == Ident && !isMacroName(next.Text) && (isAttrWord(next.Text) || isAttrLike(next.Text)) && !storageWords[next.Text] {
		return -1
	}
	return close
}

// looksLikeFuncHeader reports whether the tokens before a '{' are a function
// definition's header rather than an aggregate or initializer.
func looksLikeFuncHeader(h []Token) bool {
	if len(h) < 3 {
		return false
	}
	last := h[len(h)-1]
	if !(last.Text == ")" || last.Kind == Ident) {
		return false
	}
	depth := 0
	hasCall := false
	for k, t := range h {
		switch {
		case t.Kind == Punct && (t.Text == "(" || t.Text == "["):
			if t.Text == "(" && depth == 0 && k > 0 && h[k-1].Kind == Ident {
				hasCall = true
			}
			depth++
		case t.Kind == Punct && (t.Text == ")" || t.Text == "]"):
			depth--
		case depth == 0 && t.Kind == Punct && (t.Text == "=" || t.Text == "{" || t.Text == "}"):
			return false
		case depth == 0 && t.Kind == Ident && (t.Text == "typedef"):
			return false
		}
	}
	if !hasCall {
		return false
	}
	// "struct foo {" and "struct foo __attribute__((x)) {" are aggregates.
	for k := len(h) - 1; k >= 0; k-- {
		t := h[k]
		if t.Text == ")" {
			k = matchOpenBack(h, k)
			continue
		}
		if t.Kind == Ident && (t.Text == "struct" || t.Text == "union" || t.Text == "enum") {
			return false
		}
		if t.Kind == Ident && !isAttrLike(t.Text) {
			// reached a name: check what precedes it
			if k > 0 && (h[k-1].Text == "struct" || h[k-1].Text == "union" || h[k-1].Text == "enum") && k == len(h)-1 {
				return false
			}
			break
		}
	}
	return true
}

// MatchBack returns the index of the token that opens the group ('(',
// '[' or '{') closed at toks[k], or -1 when none does.
func MatchBack(toks []Token, k int) int {
	depth := 0
	for j := k; j >= 0; j-- {
		switch toks[j].Text {
		case ")", "]", "}":
			depth++
		case "(", "[", "{":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// MatchForward returns the index of the token that closes the group ('(',
// '[' or '{') opened at toks[k], or -1 when none does.
func MatchForward(toks []Token, k int) int {
	depth := 0
	for j := k; j < len(toks); j++ {
		switch toks[j].Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// matchOpenBack is MatchBack, or 0 when no token opens the group.
func matchOpenBack(h []Token, k int) int { return max(MatchBack(h, k), 0) }

var syscallRE = regexp.MustCompile(`^(COMPAT_|KPATCH_|KLP_)?SYSCALL_DEFINE\d$`)

// funcName finds the declarator name of a function header.
func funcName(h []Token) (nameIdx int, macro string) {
	depth := 0
	for k := 0; k < len(h); k++ {
		t := h[k]
		if isOpen(t) {
			if t.Text == "(" && depth == 0 && k > 0 && h[k-1].Kind == Ident {
				close := matchClose(h, k)
				if trailingAttrsOnly(h[close+1:]) {
					name := h[k-1]
					if syscallRE.MatchString(name.Text) || (isMacroName(name.Text) && k-1 == firstNonAttr(h)) {
						return k - 1, name.Text
					}
					return k - 1, ""
				}
			}
			depth++
		} else if isClose(t) {
			depth--
		}
	}
	return -1, ""
}

func firstNonAttr(h []Token) int {
	for k, t := range h {
		if !(t.Kind == Ident && storageWords[t.Text]) {
			return k
		}
	}
	return len(h)
}

func isMacroName(s string) bool {
	hasUpper := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' {
			return false
		}
		if c >= 'A' && c <= 'Z' {
			hasUpper = true
		}
	}
	return hasUpper
}

// trailingAttrsOnly reports whether toks are only attributes (identifiers
// like __acquires(x) or __attribute__((...))).
func trailingAttrsOnly(toks []Token) bool {
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if t.Kind != Ident || !(isAttrLike(t.Text) || t.Text == "asm" || t.Text == "__asm__") {
			return false
		}
		if k+1 < len(toks) && toks[k+1].Text == "(" {
			k = matchClose(toks, k+1)
		}
	}
	return true
}

func (f *File) addFunc(code []Token, start, open, close int) {
	h := code[start:open]
	ni, macro := funcName(h)
	if ni < 0 {
		return
	}
	fn := &Func{
		Name:   h[ni].Text,
		Span:   Span{code[start].Off, code[close].End},
		Header: Span{code[start].Off, code[open-1].End},
		Body:   Span{code[open].Off, code[close].End},
		Cond:   f.CondAt(code[start].Off),
		Macro:  macro,
	}
	if macro != "" {
		// SYSCALL_DEFINE3(name, ...) defines sys_name; other macros: first argument.
		if ni+2 < len(h) && h[ni+2].Kind == Ident {
			arg := h[ni+2].Text
			switch {
			case strings.HasPrefix(macro, "COMPAT_SYSCALL"):
				fn.Name = "compat_sys_" + arg
			case syscallRE.MatchString(macro):
				fn.Name = "sys_" + arg
			default:
				fn.Name = arg
			}
		}
	}
	for k := 0; k < ni; k++ {
		t := h[k]
		if t.Kind == Ident && isAttrLike(t.Text) {
			fn.Attrs = append(fn.Attrs, t.Text)
		}
		if t.Text == "(" {
			k = matchClose(h, k)
		}
	}
	// trailing attributes after the parameter list
	pc := matchClose(h, ni+1)
	for k := pc + 1; k < len(h); k++ {
		if h[k].Kind == Ident {
			fn.Attrs = append(fn.Attrs, h[k].Text)
		}
		if h[k].Text == "(" {
			k = matchClose(h, k)
		}
	}
	// static locals: "static ..." statements anywhere in the body
	body := code[open+1 : close]
	for k := 0; k < len(body); k++ {
		t := body[k]
		if t.Kind == Ident && t.Text == "static" && (k == 0 || body[k-1].Text == "{" || body[k-1].Text == ";" || body[k-1].Text == "}") {
			e := k
			depth := 0
			for e < len(body) {
				if isOpen(body[e]) {
					depth++
				} else if isClose(body[e]) {
					depth--
				} else if body[e].Text == ";" && depth == 0 {
					break
				}
				e++
			}
			if e < len(body) {
				for _, v := range f.declVars(body[k:e+1], nil) {
					v.Func = fn
					fn.StaticLocals = append(fn.StaticLocals, v)
				}
			}
			k = e
		}
	}
	f.Funcs = append(f.Funcs, fn)
}

// addDecl classifies a file-scope declaration ending in ';'.
func (f *File) addDecl(d []Token, nested bool, parent *Member) {
	if len(d) == 0 {
		return
	}
	span := Span{d[0].Off, d[len(d)-1].End}
	cond := f.CondAt(d[0].Off)
	body := d
	if d[len(d)-1].Text == ";" {
		body = d[:len(d)-1] // without ';'
	}
	if len(body) == 0 {
		return
	}
	// Aggregate definitions inside the declaration.
	agg := -1
	for k := 0; k < len(body); k++ {
		t := body[k]
		if isOpen(t) && t.Text != "{" {
			k = matchClose(body, k)
			continue
		}
		if t.Kind == Ident && (t.Text == "struct" || t.Text == "union" || t.Text == "enum") {
			if br := aggBrace(body, k); br > 0 {
				agg = k
				end := matchClose(body, br)
				if t.Text == "enum" {
					f.addEnum(body, k, br, end, cond)
				} else {
					f.addStruct(body, k, br, end, nil)
				}
				k = end
			}
		}
	}
	if body[0].Text == "typedef" {
		name := declaratorName(body[1:])
		text := joinTokens(body)
		if agg >= 0 && agg+1 < len(body) && body[agg+1].Kind == Ident {
			// "typedef struct tag {...} name;": the body is struct tag's,
			// modelled (and compared) as that struct; the typedef itself
			// is "typedef struct tag name;"
			br := aggBrace(body, agg)
			if br > 0 {
				end := matchClose(body, br)
				text = joinTokens(append(append([]Token(nil), body[:br]...), body[end+1:]...))
			}
		}
		f.Decls = append(f.Decls, &Decl{Kind: Typedef, Name: name, Span: span, Text: text, Cond: cond})
		return
	}
	if agg >= 0 {
		// "struct foo {...};" defines no variable; "struct foo {...} x;" does.
		end := matchClose(body, aggBrace(body, agg))
		if end == len(body)-1 {
			return
		}
	} else if len(body) <= 3 && (body[0].Text == "struct" || body[0].Text == "union" || body[0].Text == "enum") {
		if len(body) == 2 {
			f.Decls = append(f.Decls, &Decl{Kind: Forward, Name: body[1].Text, Span: span, Text: joinTokens(body), Cond: cond})
			return
		}
	}
	// Macro invocation statement: [static] NAME(args);
	if call := macroCall(body); call != nil {
		call.Span = span
		call.Cond = cond
		f.Calls = append(f.Calls, call)
		return
	}
	// Prototype: the first declarator is function-shaped.
	if ni, isProto := protoName(body); isProto {
		f.Decls = append(f.Decls, &Decl{Kind: Prototype, Name: body[ni].Text, Span: span, Text: joinTokens(body), Cond: cond})
		return
	}
	f.Vars = append(f.Vars, f.declVars(d, nil)...)
}

// aggBrace returns the index of the '{' opening the aggregate whose keyword
// is at k, or -1 if the keyword only names a type.
func aggBrace(body []Token, k int) int {
	for j := k + 1; j < len(body); j++ {
		t := body[j]
		switch {
		case t.Text == "{":
			return j
		case t.Kind == Ident:
			if j+1 < len(body) && body[j+1].Text == "(" && isAttrWord(t.Text) {
				j = matchClose(body, j+1)
			}
			continue
		default:
			return -1
		}
	}
	return -1
}

// macroCall recognises "[static] NAME(args)" with no type before NAME.
func macroCall(body []Token) *MacroCall {
	k := 0
	static := false
	for k < len(body) && body[k].Kind == Ident && storageWords[body[k].Text] {
		if body[k].Text == "static" {
			static = true
		}
		k++
	}
	if k+1 >= len(body) || body[k].Kind != Ident || body[k+1].Text != "(" {
		return nil
	}
	close := matchClose(body, k+1)
	if close != len(body)-1 && !trailingAttrsOnly(body[close+1:]) {
		return nil
	}
	c := &MacroCall{Name: body[k].Text, Static: static}
	c.Args = splitArgs(body[k+2 : close])
	return c
}

// splitArgs splits tokens at top-level commas and joins each argument.
func splitArgs(toks []Token) []string {
	if len(toks) == 0 {
		return nil
	}
	var out []string
	for _, p := range SplitTop(toks) {
		out = append(out, joinTokens(p))
	}
	return out
}

// protoName reports whether the first declarator of a declaration is a
// function declarator, and returns the name's index.
func protoName(body []Token) (int, bool) {
	depth := 0
	for k := 0; k < len(body); k++ {
		t := body[k]
		if t.Text == "=" && depth == 0 {
			return -1, false
		}
		if t.Text == "," && depth == 0 {
			return -1, false
		}
		if t.Text == "(" {
			if depth == 0 && k > 1 && body[k-1].Kind == Ident && isAttrLike(body[k-1].Text) && !storageWords[body[k-1].Text] && onlyAttrsAfter(body, matchClose(body, k)+1) {
				// "void __update_stats_wait_start(struct rq *rq, ...);": a
				// function whose name starts with __, not an attribute
				// like __printf(3, 4), which a declaration follows
				return k - 1, true
			}
			if depth == 0 && k > 0 && body[k-1].Kind == Ident && !isAttrWord(body[k-1].Text) && !isAttrLike(body[k-1].Text) {
				if typeWords[body[k-1].Text] && k+1 < len(body) && body[k+1].Text == "*" {
					// "int (*platform_notify)(struct device *)": a function pointer
					return -1, false
				}
				return k - 1, true
			}
			depth++
		} else if t.Text == ")" {
			depth--
		} else if isOpen(t) {
			depth++
		} else if isClose(t) {
			depth--
		}
	}
	return -1, false
}

// onlyAttrsAfter reports whether body[from:] holds only attributes
// (__must_check, __attribute__((...)), __acquires(x)), or nothing.
func onlyAttrsAfter(body []Token, from int) bool {
	for k := from; k < len(body); k++ {
		t := body[k]
		if t.Kind != Ident || !isAttrWord(t.Text) && !isAttrLike(t.Text) {
			return false
		}
		if k+1 < len(body) && body[k+1].Text == "(" {
			k = matchClose(body, k+1)
		}
	}
	return true
}

// declVars reads the variables of a declaration statement d (';' included).
func (f *File) declVars(d []Token, fn *Func) []*Var {
	body := d[:len(d)-1]
	span := Span{d[0].Off, d[len(d)-1].End}
	var attrs []string
	static, extern, isConst := false, false, false
	for _, t := range body {
		if t.Kind == Ident && isAttrWord(t.Text) {
			attrs = append(attrs, t.Text)
			switch t.Text {
			case "static":
				static = true
			case "extern":
				extern = true
			case "const":
				isConst = true
			}
		}
		if t.Text == "=" {
			break
		}
	}
	// split declarators at top-level commas
	decls := SplitTop(body)
	var out []*Var
	var baseType []Token
	for di, dd := range decls {
		eq := -1
		dep := 0
		for k, t := range dd {
			if isOpen(t) {
				dep++
			} else if isClose(t) {
				dep--
			} else if t.Text == "=" && dep == 0 {
				eq = k
				break
			}
		}
		declr := dd
		if eq >= 0 {
			declr = dd[:eq]
		}
		ni := nameIndex(declr)
		if ni < 0 {
			continue
		}
		if di == 0 {
			baseType = declr[:ni]
		}
		v := &Var{Name: declr[ni].Text, Span: span, Attrs: attrs, Static: static, Extern: extern, Const: isConst, Cond: f.CondAt(d[0].Off)}
		typeToks := append([]Token{}, stripStorage(baseType)...)
		if di > 0 {
			typeToks = append(typeToks, stripStorage(declr[:ni])...)
		}
		v.Type = joinTokens(typeToks)
		if eq >= 0 && eq+1 < len(dd) {
			v.Init = &Span{dd[eq+1].Off, dd[len(dd)-1].End}
			v.InitText = joinTokens(dd[eq+1:])
		}
		out = append(out, v)
	}
	return out
}

func stripStorage(toks []Token) []Token {
	var out []Token
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if t.Kind == Ident && t.Text != "const" && t.Text != "volatile" &&
			(isAttrWord(t.Text) || isAttrLike(t.Text) && k+1 < len(toks) && toks[k+1].Text == "(") {
			if k+1 < len(toks) && toks[k+1].Text == "(" {
				k = matchClose(toks, k+1)
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

// nameIndex finds the declared name in one declarator (without initializer).
func nameIndex(d []Token) int {
	// (*name)(...) and (*name)[...]
	for k := 0; k+2 < len(d); k++ {
		if d[k].Text == "(" && d[k+1].Text == "*" {
			for j := k + 2; j < len(d) && d[j].Text != ")"; j++ {
				if d[j].Kind == Ident && !isAttrWord(d[j].Text) && d[j].Text != "const" {
					return j
				}
			}
		}
	}
	end := len(d)
	// cut a bitfield width
	depth := 0
	for k, t := range d {
		if isOpen(t) {
			depth++
		} else if isClose(t) {
			depth--
		} else if t.Text == ":" && depth == 0 {
			end = k
			break
		}
	}
	for end > 0 {
		t := d[end-1]
		switch {
		case t.Text == "]":
			end = matchOpenBack(d[:end], end-1)
		case t.Text == ")":
			o := matchOpenBack(d[:end], end-1)
			if o > 0 && d[o-1].Kind == Ident && isAttrWord(d[o-1].Text) {
				end = o - 1
			} else if o > 0 && d[o-1].Kind == Ident {
				// function declarator: name(params)
				return o - 1
			} else {
				return -1
			}
		case t.Kind == Ident && isAttrWord(t.Text):
			end--
		case t.Kind == Ident:
			c := end - 1
			if c > 0 && d[c-1].Text == "]" {
				// "void *__crt_ctx[] CRYPTO_MINALIGN_ATTR": nothing named follows an array declarator
				end = c
				continue
			}
			if c > 1 && couldBeName(d, c-1) && hasType(d[:c-1]) {
				// "spinlock_t lock ____cacheline_internodealigned_in_smp": a
				// name after a type, then an attribute macro
				end = c
				continue
			}
			return c
		default:
			return -1
		}
	}
	return -1
}

// builtinTypeWords are the keywords a type can be made of.
var builtinTypeWords = map[string]bool{"void": true, "char": true, "short": true, "int": true, "long": true,
	"float": true, "double": true, "signed": true, "unsigned": true, "_Bool": true, "__signed__": true,
	"struct": true, "union": true, "enum": true}

// annotationWords are sparse annotations and qualifiers that may stand
// between a type and a name.
var annotationWords = map[string]bool{"__rcu": true, "__percpu": true, "__iomem": true, "__user": true,
	"__force": true, "__private": true, "__bitwise": true, "restrict": true, "__restrict": true}

func isQualifier(s string) bool { return isAttrWord(s) || annotationWords[s] }

// couldBeName reports whether d[k] can be the name a declarator declares:
// an identifier that is no keyword of a type, no qualifier and no tag.
func couldBeName(d []Token, k int) bool {
	t := d[k]
	if t.Kind != Ident || builtinTypeWords[t.Text] || isQualifier(t.Text) {
		return false
	}
	return k == 0 || !(d[k-1].Text == "struct" || d[k-1].Text == "union" || d[k-1].Text == "enum")
}

// hasType reports whether toks hold a type, not only qualifiers and
// attributes.
func hasType(toks []Token) bool {
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if t.Kind == Ident && isQualifier(t.Text) {
			if k+1 < len(toks) && toks[k+1].Text == "(" {
				k = matchClose(toks, k+1)
			}
			continue
		}
		return true
	}
	return false
}

// unnamedBitfield reports whether the first declarator of a member
// declaration is a bitfield with only a type before its ':' ("unsigned :5",
// "__u16 :16").
func unnamedBitfield(p []Token) bool {
	colon := -1
	for k, t := range p {
		if t.Text == ":" {
			colon = k
			break
		}
		if t.Kind != Ident {
			return false
		}
	}
	if colon < 0 {
		return false
	}
	keywords, others := 0, 0
	for _, t := range p[:colon] {
		switch {
		case isQualifier(t.Text):
		case builtinTypeWords[t.Text]:
			keywords++
		default:
			others++
		}
	}
	return others == 0 || others == 1 && keywords == 0
}

// declaratorName returns the name declared by tokens (for typedefs).
func declaratorName(toks []Token) string {
	var d []Token
	for k := 0; k < len(toks); k++ {
		if toks[k].Text == "{" {
			k = matchClose(toks, k)
			continue
		}
		d = append(d, toks[k])
	}
	if i := nameIndex(d); i >= 0 {
		return d[i].Text
	}
	return ""
}

// addStruct parses the aggregate whose keyword is body[k] and whose braces
// are at open and close.
func (f *File) addStruct(body []Token, k, open, close int, parent *Member) *Struct {
	s := &Struct{Kind: body[k].Text, Span: Span{body[k].Off, body[close].End}, Cond: f.CondAt(body[k].Off), Parent: parent}
	if open > k+1 {
		for j := k + 1; j < open; j++ {
			if body[j].Kind == Ident && !isAttrWord(body[j].Text) {
				s.Name = body[j].Text
				break
			}
			if j+1 < open && body[j+1].Text == "(" {
				j = matchClose(body, j+1)
			}
		}
	}
	if open+1 <= close {
		s.Body = Span{body[open].End, body[close].Off}
	}
	f.Structs = append(f.Structs, s)
	s.Members = f.members(body[open+1:close], s)
	return s
}

// members parses the member declarations of an aggregate body.
func (f *File) members(toks []Token, s *Struct) []*Member {
	var kept []Token
	for _, t := range toks {
		if !(t.Kind == Ident && layoutMarkers[t.Text]) {
			kept = append(kept, t)
		}
	}
	toks = kept
	var out []*Member
	group := 0
	k := 0
	for k < len(toks) {
		// one declaration up to ';' at depth 0
		e := k
		depth := 0
		for e < len(toks) {
			t := toks[e]
			if isOpen(t) {
				depth++
			} else if isClose(t) {
				depth--
			} else if t.Text == ";" && depth == 0 {
				break
			}
			e++
		}
		decl := toks[k:e]
		declSpan := Span{}
		if len(decl) > 0 {
			end := decl[len(decl)-1].End
			if e < len(toks) {
				end = toks[e].End
			}
			declSpan = Span{decl[0].Off, end}
		}
		if len(decl) > 0 {
			out = append(out, f.memberDecl(decl, declSpan, group, s)...)
			group++
		}
		k = e + 1
	}
	return out
}

func (f *File) memberDecl(decl []Token, span Span, group int, s *Struct) []*Member {
	cond := f.CondAt(decl[0].Off)
	comment := f.lineComment(span.End)
	// nested aggregate
	for k := 0; k < len(decl); k++ {
		t := decl[k]
		if t.Kind == Ident && storageWords[t.Text] {
			continue
		}
		if t.Kind == Ident && (t.Text == "struct" || t.Text == "union") {
			if br := aggBrace(decl, k); br > 0 {
				end := matchClose(decl, br)
				m := &Member{Decl: span, Cond: cond, Group: group, Comment: comment}
				m.Nested = f.addStruct(decl, k, br, end, m)
				m.Type = t.Text + " {...}"
				if m.Nested.Name != "" {
					m.Type = t.Text + " " + m.Nested.Name
				}
				// "} a, b;" declares a member per declarator; "} __packed;" none.
				// Each part after the brace keeps the '}' in front, as the type
				// the name follows.
				out := []*Member{m}
				for pi, p := range SplitTop(decl[end+1:]) {
					p = append([]Token{decl[end]}, p...)
					if pi > 0 {
						out = append(out, &Member{Decl: span, Cond: cond, Group: group, Type: m.Type, Nested: m.Nested})
					}
					x := out[len(out)-1]
					if ni := nameIndex(p); ni >= 0 {
						x.Name = p[ni].Text
						x.NameAt = Span{p[ni].Off, p[ni].End}
						x.Array = arrayDims(p[ni+1:])
					}
				}
				return out
			}
		}
		break
	}
	// macro-made member: NAME(args) with nothing else, or attributes only
	// ("__cacheline_group_begin(grp) ____cacheline_aligned;")
	if len(decl) >= 3 && decl[0].Kind == Ident && decl[1].Text == "(" {
		if c := matchClose(decl, 1); c > 1 && c < len(decl)-1 && onlyAttributes(decl[c+1:]) {
			decl = decl[:c+1]
		}
	}
	if len(decl) >= 3 && decl[0].Kind == Ident && decl[1].Text == "(" && matchClose(decl, 1) == len(decl)-1 {
		if ms := f.structGroup(decl, span, cond, group, comment); ms != nil {
			return ms
		}
		names, when := f.macroNames(decl)
		return []*Member{{Macro: joinTokens(decl), Names: names, Decl: span, Cond: cond.And(when), Group: group, Type: decl[0].Text, Comment: comment}}
	}
	// an object-like macro of this file that declares members: "HASH_LEN_DECLARE;"
	if len(decl) == 1 && decl[0].Kind == Ident {
		if names, when := f.macroNames(decl); names != nil {
			return []*Member{{Macro: decl[0].Text, Names: names, Decl: span, Cond: cond.And(when), Group: group, Type: decl[0].Text, Comment: comment}}
		}
	}
	// declarators
	parts := SplitTop(decl)
	var out []*Member
	var base []Token
	for pi, p := range parts {
		ni := nameIndex(p)
		if pi == 0 && unnamedBitfield(p) {
			ni = -1
		}
		m := &Member{Decl: span, Cond: cond, Group: group}
		if pi == len(parts)-1 {
			m.Comment = comment
		} else if len(p) > 0 {
			m.Comment = f.lineComment(p[len(p)-1].End)
		}
		var typ []Token
		if ni < 0 {
			// unnamed bitfield (": 0") or something unreadable
			colon := -1
			for k, t := range p {
				if t.Text == ":" {
					colon = k
				}
			}
			if colon < 0 {
				continue
			}
			m.Bits = joinTokens(p[colon+1:])
			typ = p[:colon]
			if pi > 0 {
				typ = base
			}
			m.Type = joinTokens(stripStorage(typ))
			out = append(out, m)
			continue
		}
		m.Name = p[ni].Text
		m.NameAt = Span{p[ni].Off, p[ni].End}
		if pi == 0 {
			// base type: the specifiers without pointer stars of the first declarator
			b := p[:ni]
			for len(b) > 0 && (b[len(b)-1].Text == "*" || b[len(b)-1].Text == "(") {
				b = b[:len(b)-1]
			}
			base = b
			typ = p[:ni]
		} else {
			typ = append(append([]Token{}, base...), p[:ni]...)
		}
		// function pointers keep their full declarator as the type
		if ni > 0 && p[ni-1].Text == "*" && ni > 1 && p[ni-2].Text == "(" {
			m.Type = joinTokens(stripStorage(p))
		} else {
			m.Type = joinTokens(stripStorage(typ))
		}
		rest := p[ni+1:]
		for k, t := range rest {
			if t.Text == ":" {
				m.Bits = joinTokens(rest[k+1:])
				rest = rest[:k]
				break
			}
		}
		m.Array = arrayDims(rest)
		out = append(out, m)
	}
	return out
}

// SplitTop splits tokens at their top-level commas: a call's arguments, a
// declaration's declarators.
func SplitTop(toks []Token) [][]Token {
	var parts [][]Token
	depth, last := 0, 0
	for k, t := range toks {
		if isOpen(t) {
			depth++
		} else if isClose(t) {
			depth--
		} else if t.Text == "," && depth == 0 {
			parts = append(parts, toks[last:k])
			last = k + 1
		}
	}
	return append(parts, toks[last:])
}

// lineComment returns a comment that starts on the same line after off.
func (f *File) lineComment(off int) string {
	line := f.Line(off)
	i := sort.Search(len(f.Tokens), func(i int) bool { return f.Tokens[i].Off >= off })
	for ; i < len(f.Tokens); i++ {
		t := f.Tokens[i]
		if f.Line(t.Off) != line {
			return ""
		}
		if t.Kind == Comment {
			return t.Text
		}
	}
	return ""
}

func arrayDims(toks []Token) []string {
	var out []string
	for k := 0; k < len(toks); k++ {
		if toks[k].Text == "[" {
			c := matchClose(toks, k)
			out = append(out, joinTokens(toks[k+1:c]))
			k = c
		}
	}
	return out
}

func (f *File) addEnum(body []Token, k, open, close int, cond Cond) {
	e := &Enum{Span: Span{body[k].Off, body[close].End}, Cond: cond}
	if open > k+1 && body[k+1].Kind == Ident {
		e.Name = body[k+1].Text
	}
	inner := body[open+1 : close]
	flush := func(toks []Token) {
		if len(toks) == 0 || toks[0].Kind != Ident {
			return
		}
		en := Enumerator{Name: toks[0].Text, Span: Span{toks[0].Off, toks[len(toks)-1].End}}
		if len(toks) > 2 && toks[1].Text == "=" {
			en.Value = joinTokens(toks[2:])
		}
		e.Values = append(e.Values, en)
	}
	for _, p := range SplitTop(inner) {
		flush(p)
	}
	f.Enums = append(f.Enums, e)
}

// joinTokens renders tokens as normalised text: single spaces, no space
// around '->' and '.', none inside parentheses' edges, "*" glued to names.
func joinTokens(toks []Token) string {
	var sb strings.Builder
	for i, t := range toks {
		if i > 0 && needSpace(toks[i-1], t) {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.Text)
	}
	return sb.String()
}

// JoinTokens is joinTokens for other packages.
func JoinTokens(toks []Token) string { return joinTokens(toks) }

// typeWords are keywords after which "(" starts a declarator, not a call.
var typeWords = map[string]bool{"void": true, "int": true, "char": true, "long": true, "short": true,
	"unsigned": true, "signed": true, "bool": true, "float": true, "double": true, "return": true,
	"if": true, "for": true, "while": true, "switch": true, "sizeof": false}

func needSpace(a, b Token) bool {
	switch {
	case a.Text == "(" || a.Text == "[" || b.Text == ")" || b.Text == "]" || b.Text == "," || b.Text == ";":
		return false
	case a.Text == "->" || b.Text == "->" || a.Text == "." || b.Text == ".":
		return false
	case b.Text == "(" && a.Kind == Ident:
		return typeWords[a.Text]
	case b.Text == "(" && a.Text == ")":
		return false
	case b.Text == "[":
		return false
	case a.Text == "*" && (b.Kind == Ident || b.Text == "*" || b.Text == "("):
		return false
	case a.Text == "!" || a.Text == "~" || a.Text == "&" && b.Kind == Ident && false:
		return false
	}
	return true
}

// CodeTokens returns the tokens inside span that are neither comments nor
// preprocessor directives.
func (f *File) CodeTokens(s Span) []Token {
	i := sort.Search(len(f.Tokens), func(i int) bool { return f.Tokens[i].Off >= s.Off })
	var out []Token
	for ; i < len(f.Tokens) && f.Tokens[i].End <= s.End; i++ {
		t := f.Tokens[i]
		if t.Kind != Comment && t.Kind != Directive {
			out = append(out, t)
		}
	}
	return out
}

// Normalized returns the code in span as normalised text: comments and
// directives dropped, whitespace collapsed. Two spans with the same
// Normalized text compile the same way (given the same macros).
func (f *File) Normalized(s Span) string { return joinTokens(f.CodeTokens(s)) }

// ParamNames returns the names of fn's parameters, in order (the last
// identifier of each, outside parentheses).
func (f *File) ParamNames(fn *Func) []string {
	toks := Tokenize(f.Src[fn.Header.Off:fn.Header.End])
	open := -1
	for i, t := range toks {
		if t.Text == "(" && i > 0 && toks[i-1].Text == fn.Name {
			open = i
			break
		}
	}
	if open < 0 {
		return nil
	}
	var names []string
	last, depth := "", 0
	for _, t := range toks[open+1:] {
		switch {
		case t.Kind == Comment:
		case t.Text == "(" || t.Text == "[":
			depth++
		case (t.Text == ")" || t.Text == "]") && depth > 0:
			depth--
		case depth == 0 && (t.Text == "," || t.Text == ")"):
			names = append(names, last)
			if t.Text == ")" {
				return names
			}
		case depth == 0 && t.Kind == Ident:
			last = t.Text
		}
	}
	return names
}

// TypeSpelling is a type's text as the tables of type names spell it:
// without a leading const, its words separated by single spaces
// ("const  unsigned   int" is "unsigned int").
func TypeSpelling(typ string) string {
	return strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(typ), "const ")), " ")
}

// signedTypes are the kernel's signed integer types, as TypeSpelling
// spells them; any spelling that starts with "signed" is one too. char is
// signed on the architectures kprewrite builds for (x86: the kernel uses
// -funsigned-char only from 6.2).
var signedTypes = map[string]bool{
	"__s8": true, "__s16": true, "__s32": true, "__s64": true, "s8": true, "s16": true, "s32": true, "s64": true,
	"int8_t": true, "int16_t": true, "int32_t": true, "int64_t": true,
	"int": true, "long": true, "short": true, "char": true, "long int": true, "short int": true,
	"long long": true, "long long int": true, "ssize_t": true, "loff_t": true,
}

// SignedType reports whether typ is a signed integer type.
func SignedType(typ string) bool {
	t := TypeSpelling(typ)
	return signedTypes[t] || t == "signed" || strings.HasPrefix(t, "signed ")
}
