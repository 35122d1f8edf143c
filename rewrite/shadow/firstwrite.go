package shadow

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A read of a shadowed member that a write of the same member of the same
// object precedes on every path needs no value for objects without a
// shadow, and cannot see a shadow a freed object left behind at the same
// address: the write stores into that shadow (or allocates one) first.
// writtenBefore answers this within the read's function; writtenFirst
// follows the object up through the callers of a static function and down
// into the functions the callers call first:
//
//	static void copy_to_cache(struct cache *to, struct src *from)
//	{
//		to->cs = from->cs;		// writes (*to).cs
//	}
//	static bool check(struct cache *save)
//	{
//		return save->cs.attrib != 0;	// reads (*save).cs
//	}
//	...
//		copy_to_cache(&cached, src);	// writes cached.cs
//		if (!check(&cached))		// reads cached.cs: written first
//
// Objects are named by the expressions that reach them, in terms of the
// function's parameters: a parameter, a local pointer assigned once (its
// initializer stands for it), a local struct (the object itself), "&",
// "*", "->" and "." on them, and calls of accessors that only compute a
// container_of() (to_svm(vcpu)). A name that may change between the write
// and the read (a parameter or pointer assigned, incremented or whose
// address is taken) names no object. A function whose name appears other
// than as a call (a function pointer, a macro) has callers no one can list.

// maxFollow bounds how far writtenFirst follows callers up and writers
// down.
const maxFollow = 4

// object is an expression that names an object or a pointer to one,
// normalised: *&x is x, &*p is p, p->m is (*p).m.
type object struct {
	kind byte   // 'p' a parameter, 'l' a local struct, 'c' a call, 'm' a member, 'd' *x, 'a' &x
	name string // the parameter's index, the local's or callee's name, the member's name
	x    *object
	args []*object
}

func (o *object) String() string {
	switch o.kind {
	case 'p':
		return "$" + o.name
	case 'l':
		return o.name
	case 'c':
		var as []string
		for _, a := range o.args {
			as = append(as, a.String())
		}
		return o.name + "(" + strings.Join(as, ", ") + ")"
	case 'm':
		return o.x.String() + "." + o.name
	case 'd':
		return "(*" + o.x.String() + ")"
	case 'a':
		return "&" + o.x.String()
	}
	return "?"
}

func deref(x *object) *object {
	if x.kind == 'a' {
		return x.x
	}
	return &object{kind: 'd', x: x}
}

func addr(x *object) *object {
	if x.kind == 'd' {
		return x.x
	}
	return &object{kind: 'a', x: x}
}

// fixed reports whether the object o names cannot change between two
// evaluations in one function: reached from parameters and local structs
// by member offsets and container_of() accessors only. A pointer loaded
// from memory ("p->next->m", a local set from "vcpu->ctx") may be
// reassigned between a write and a read, by the code between them or by
// a function it calls: it names no fixed object.
func fixed(o *object) bool {
	switch o.kind {
	case 'l':
		return true
	case 'm':
		return fixed(o.x)
	case 'd':
		return fixedPtr(o.x)
	}
	return false
}

// fixedPtr is fixed for a pointer value.
func fixedPtr(o *object) bool {
	switch o.kind {
	case 'p':
		return true
	case 'a':
		return fixed(o.x)
	case 'c':
		for _, a := range o.args {
			if !fixedPtr(a) {
				return false
			}
		}
		return true
	}
	return false
}

// subst puts args in place of the parameters of o.
func (o *object) subst(args []*object) *object {
	switch o.kind {
	case 'p':
		if i, err := strconv.Atoi(o.name); err == nil && i < len(args) {
			return args[i]
		}
		return nil
	case 'l':
		return nil // a callee's local is no object of the caller
	case 'c':
		c := &object{kind: 'c', name: o.name}
		for _, a := range o.args {
			s := a.subst(args)
			if s == nil {
				return nil
			}
			c.args = append(c.args, s)
		}
		return c
	}
	x := o.x.subst(args)
	if x == nil {
		return nil
	}
	switch o.kind {
	case 'm':
		return &object{kind: 'm', name: o.name, x: x}
	case 'd':
		return deref(x)
	}
	return addr(x)
}

// scope is one function, as writtenFirst reads it.
type scope struct {
	p      *rewrite.Pass
	f      *ast.File
	fn     *ast.Func
	toks   []ast.Token // the body's code tokens
	params []string
	depth  int // how many initializers deep expr is
}

func newScope(p *rewrite.Pass, f *ast.File, fn *ast.Func) *scope {
	return &scope{p: p, f: f, fn: fn, toks: f.CodeTokens(fn.Body), params: f.ParamNames(fn)}
}

// stable reports whether the variable name keeps its value in the whole
// body: no assignment, increment or address taken, no second declaration.
// A local struct (value) may have its address taken: that is how it is
// passed.
func (s *scope) stable(name string, value bool) bool {
	decls := 0
	for i, t := range s.toks {
		if t.Text != name || t.Kind != ast.Ident {
			continue
		}
		if i > 0 && (s.toks[i-1].Text == "->" || s.toks[i-1].Text == "." || tagWord[s.toks[i-1].Text]) {
			continue // a member or a struct of that name
		}
		if !changes(s.toks, i) {
			continue
		}
		if isDecl(s.toks, i) {
			decls++
			continue
		}
		if value && i > 0 && s.toks[i-1].Text == "&" {
			continue
		}
		return false
	}
	return decls <= 1
}

// tagWord are the keywords a tag follows ("struct ctx *ctx").
var tagWord = map[string]bool{"struct": true, "union": true, "enum": true}

// isDecl reports whether the identifier at i is declared there ("struct
// x *name", "int name").
func isDecl(toks []ast.Token, i int) bool {
	if i == 0 {
		return false
	}
	p := toks[i-1]
	return p.Text == "*" || p.Kind == ast.Ident && !notType[p.Text]
}

// notType are the keywords an identifier may follow without being
// declared ("else p = q", "return p").
var notType = map[string]bool{"return": true, "sizeof": true, "case": true, "else": true, "do": true, "goto": true, "typeof": true, "__typeof__": true}

// local finds the declaration of name in the body: whether it declares a
// struct or union object (no '*' in its declarator), and the tokens of
// its initializer, if any.
func (s *scope) local(name string) (found, value bool, init []ast.Token) {
	for i, t := range s.toks {
		if t.Text != name || !isDecl(s.toks, i) || !changes(s.toks, i) {
			continue
		}
		if i > 0 && (s.toks[i-1].Text == "->" || s.toks[i-1].Text == "." || tagWord[s.toks[i-1].Text]) {
			continue
		}
		// the declaration's start: back to the statement's
		k := i - 1
		for k >= 0 && s.toks[k].Text != ";" && s.toks[k].Text != "{" && s.toks[k].Text != "}" {
			k--
		}
		decl := s.toks[k+1 : i]
		value = len(decl) >= 2 && (decl[0].Text == "struct" || decl[0].Text == "union") && !slices.ContainsFunc(decl, func(t ast.Token) bool { return t.Text == "*" || t.Text == "," })
		if i+1 < len(s.toks) && s.toks[i+1].Text == "=" {
			depth := 0
			for e := i + 2; e < len(s.toks); e++ {
				switch s.toks[e].Text {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				}
				if depth == 0 && (s.toks[e].Text == ";" || s.toks[e].Text == ",") {
					return true, value, s.toks[i+2 : e]
				}
				if depth < 0 {
					return true, value, nil
				}
			}
		}
		return true, value, nil
	}
	return false, false, nil
}

// expr reads the object an expression names, or nil.
func (s *scope) expr(toks []ast.Token) *object {
	if s.depth > 6 || len(toks) == 0 {
		return nil
	}
	switch toks[0].Text {
	case "&":
		if x := s.expr(toks[1:]); x != nil {
			return addr(x)
		}
		return nil
	case "*":
		if x := s.expr(toks[1:]); x != nil {
			return deref(x)
		}
		return nil
	}
	// a postfix chain: primary ( "->" m | "." m )*
	end := len(toks)
	for end >= 3 && toks[end-1].Kind == ast.Ident && (toks[end-2].Text == "->" || toks[end-2].Text == ".") {
		end -= 2
	}
	if end < len(toks) {
		x := s.expr(toks[:end])
		if x == nil {
			return nil
		}
		for i := end; i < len(toks); i += 2 {
			if toks[i].Text == "->" {
				x = deref(x)
			}
			x = &object{kind: 'm', name: toks[i+1].Text, x: x}
		}
		return x
	}
	if toks[0].Text == "(" && ast.MatchForward(toks, 0) == len(toks)-1 {
		return s.expr(toks[1 : len(toks)-1])
	}
	if len(toks) == 1 && toks[0].Kind == ast.Ident {
		return s.name(toks[0].Text)
	}
	if toks[0].Kind == ast.Ident && len(toks) >= 3 && toks[1].Text == "(" && ast.MatchForward(toks, 1) == len(toks)-1 {
		if !s.accessor(toks[0].Text) {
			return nil
		}
		c := &object{kind: 'c', name: toks[0].Text}
		for _, a := range ast.SplitTop(toks[2 : len(toks)-1]) {
			x := s.expr(a)
			if x == nil {
				return nil
			}
			c.args = append(c.args, x)
		}
		return c
	}
	return nil
}

// name reads a variable: a parameter, a local struct, or a local pointer
// assigned once (its initializer).
func (s *scope) name(n string) *object {
	found, value, init := s.local(n)
	if found && slices.Contains(s.params, n) {
		return nil // a local that shadows a parameter in some block
	}
	if found {
		if !s.stable(n, value) {
			return nil
		}
		if value {
			return &object{kind: 'l', name: n}
		}
		if init == nil {
			return nil
		}
		s.depth++
		defer func() { s.depth-- }()
		return s.expr(init)
	}
	for i, pn := range s.params {
		if pn == n {
			if !s.stable(n, false) {
				return nil
			}
			return &object{kind: 'p', name: strconv.Itoa(i)}
		}
	}
	return nil
}

// accessor reports whether name is a function whose body only returns a
// container_of() (to_svm(), to_net_dev()): a call of it names the same
// object whenever its argument does.
func (s *scope) accessor(name string) bool {
	fs := []*ast.File{s.f}
	fs = append(fs, s.p.IncludedHeaders(s.f.Name)...)
	for _, f := range fs {
		fn := f.Func(name)
		if fn == nil {
			continue
		}
		body := f.CodeTokens(fn.Body)
		return len(body) >= 6 && body[1].Text == "return" && body[2].Text == "container_of" && body[3].Text == "(" &&
			ast.MatchForward(body, 3) == len(body)-3 && body[len(body)-2].Text == ";"
	}
	return false
}

// writtenFirst reports whether every path to the read a, in w's file,
// runs a write of w's member of the same object first (see above).
func writtenFirst(w *writes, a *cexpr.Access) bool {
	p, f := w.p, w.f
	if writtenBefore(f, a) {
		return true
	}
	fn := f.FuncAt(a.Full.Off)
	if fn == nil || a.InMacro {
		return false
	}
	s := newScope(p, f, fn)
	obj := s.expr(ast.Tokenize(f.Src[a.Object.Off:a.Object.End]))
	if obj == nil {
		return false
	}
	if a.Arrow {
		obj = deref(obj)
	}
	if !fixed(obj) {
		return false
	}
	return w.before(s, obj, a.Full.Off, 0)
}

// writes answers for one file and member; its summaries serve every read
// of the member there.
type writes struct {
	p         *rewrite.Pass
	f         *ast.File
	member    string
	summaries map[string][]*object // "function@depth" -> the objects it writes the member of on every path, in its parameters' terms
}

// before reports whether the member of obj is written on every path to
// off in s's function, or, when obj is reached from its parameters and
// the function is static, before every call of it.
func (w *writes) before(s *scope, obj *object, off, depth int) bool {
	if !w.plain(s.fn) {
		return false
	}
	if w.writtenIn(s, obj, off, depth) {
		return true
	}
	if depth >= maxFollow || !rooted(obj) || !s.fn.Has("static") {
		return false
	}
	calls, ok := w.calls(s.fn.Name)
	if !ok || len(calls) == 0 {
		return false
	}
	for _, c := range calls {
		if !w.plain(c.fn) {
			return false
		}
		caller := newScope(w.p, w.f, c.fn)
		var args []*object
		for _, a := range c.args {
			args = append(args, caller.expr(a)) // nil: a parameter it cannot follow
		}
		up := obj.subst(args)
		if up == nil || !fixed(up) || !w.before(caller, up, c.off, depth+1) {
			return false
		}
	}
	return true
}

// rooted reports whether obj is reached from parameters only (not a local
// of the function, which its callers cannot name).
func rooted(o *object) bool {
	switch o.kind {
	case 'p':
		return true
	case 'l':
		return false
	case 'c':
		for _, a := range o.args {
			if !rooted(a) {
				return false
			}
		}
		return true
	}
	return rooted(o.x)
}

// writtenIn scans the statements of the blocks that hold off, before it
// (writtenBefore's rules: no label between, a statement of an enclosing
// block), for "X.m = v;" or "X->m = v;" on obj, or a call of a function
// of the file that writes obj's member on every path.
func (w *writes) writtenIn(s *scope, obj *object, off, depth int) bool {
	want := obj.String()
	// the whole object stored or cleared ("*p = *q", "memset(p, 0, n)"):
	// upstream's member then holds what the copy gave it
	clears := func(i int) bool {
		if i > 0 && s.toks[i-1].Text != ";" && s.toks[i-1].Text != "{" && s.toks[i-1].Text != "}" {
			return false
		}
		end := statementEnd(s.toks, i)
		if end < 0 {
			return false
		}
		return w.storesWhole(s, s.toks[i:end], want)
	}
	return onEveryPath(s.toks, off, clears, func(i int) bool {
		end := statementEnd(s.toks, i)
		if end < 0 || s.toks[end].End > off {
			return false
		}
		for _, o := range w.stmtWrites(s, s.toks[i:end], depth) {
			if o.String() == want {
				return true
			}
		}
		return false
	})
}

// storesWhole reports whether the expression statement stmt stores into
// the whole object named want: an assignment to it, or a memset, memcpy
// or memmove into it.
func (w *writes) storesWhole(s *scope, stmt []ast.Token, want string) bool {
	if len(stmt) >= 3 && stmt[0].Kind == ast.Ident && stmt[1].Text == "(" && ast.MatchForward(stmt, 1) == len(stmt)-1 {
		switch stmt[0].Text {
		case "memset", "memcpy", "memmove", "__memset", "__memcpy":
			args := ast.SplitTop(stmt[2 : len(stmt)-1])
			if x := s.expr(args[0]); x != nil && deref(x).String() == want {
				return true
			}
		}
		return false
	}
	for k := 1; k < len(stmt); k++ {
		if stmt[k].Text == "=" {
			x := s.expr(stmt[:k])
			return x != nil && x.String() == want
		}
	}
	return false
}

// plain reports whether fn is the file's one definition of its name and
// its body holds no preprocessor conditional (whose branches the tokens
// flatten: a write under #ifdef is no write of every build).
func (w *writes) plain(fn *ast.Func) bool {
	if len(w.f.Definitions(fn.Name)) != 1 {
		return false
	}
	for _, t := range w.f.Tokens {
		if t.Kind == ast.Directive && t.Off > fn.Body.Off && t.End < fn.Body.End {
			return false
		}
	}
	return true
}

// statementEnd is the index of the ';' that ends the expression statement
// starting at i, or -1 when it is not one (a block, a control statement).
func statementEnd(toks []ast.Token, i int) int {
	switch toks[i].Text {
	case "if", "for", "while", "do", "switch", "return", "goto", "break", "continue", "{":
		return -1
	}
	depth := 0
	for e := i; e < len(toks); e++ {
		switch toks[e].Text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
		case "{", "}":
			if depth == 0 {
				return -1
			}
		case ";":
			if depth == 0 {
				return e
			}
		}
	}
	return -1
}

// stmtWrites returns the objects whose member the expression statement
// stmt writes: "X->m = v" or "X.m = v", or a call of a function of the
// file that writes it on every path.
func (w *writes) stmtWrites(s *scope, stmt []ast.Token, depth int) []*object {
	for k := 2; k+1 < len(stmt); k++ {
		if stmt[k].Text == "=" && stmt[k-1].Text == w.member && (stmt[k-2].Text == "->" || stmt[k-2].Text == ".") {
			if k-2 == 0 {
				return nil
			}
			x := s.expr(stmt[:k-2])
			if x == nil {
				return nil
			}
			if stmt[k-2].Text == "->" {
				x = deref(x)
			}
			return []*object{x}
		}
	}
	if len(stmt) < 3 || stmt[0].Kind != ast.Ident || stmt[1].Text != "(" || ast.MatchForward(stmt, 1) != len(stmt)-1 || depth >= maxFollow {
		return nil
	}
	sum := w.summary(stmt[0].Text, depth+1)
	if len(sum) == 0 {
		return nil
	}
	var args []*object
	for _, a := range ast.SplitTop(stmt[2 : len(stmt)-1]) {
		args = append(args, s.expr(a))
	}
	var out []*object
	for _, o := range sum {
		if x := o.subst(args); x != nil {
			out = append(out, x)
		}
	}
	return out
}

// summary returns the objects the function name of the file writes the
// member of on every path, in its parameters' terms: its body's
// statements up to the first that may leave it or jump (return, goto, a
// label, a control statement).
func (w *writes) summary(name string, depth int) []*object {
	// by depth too: a summary cut short deeper down is not the one a
	// shallower call would find
	key := name + "@" + strconv.Itoa(depth)
	if sum, ok := w.summaries[key]; ok {
		return sum
	}
	w.summaries[key] = nil // a recursion writes nothing more
	fn := w.f.Func(name)
	if fn == nil || !w.plain(fn) {
		return nil
	}
	s := newScope(w.p, w.f, fn)
	toks := s.toks
	var out []*object
	for i := 1; i < len(toks)-1; {
		if toks[i].Kind == ast.Ident && i+1 < len(toks) && toks[i+1].Text == ":" {
			break
		}
		end := statementEnd(toks, i)
		if end < 0 || mayLeave(toks[i:end]) {
			break
		}
		for _, o := range w.stmtWrites(s, toks[i:end], depth) {
			if rooted(o) {
				out = append(out, o)
			}
		}
		i = end + 1
	}
	w.summaries[key] = out
	return out
}

// mayLeave reports whether a statement may leave its function or skip
// what follows without a control statement of its own: a return or goto
// in a statement expression, or a macro (by the kernel's convention, an
// upper-case name) called there, which may hide one.
func mayLeave(stmt []ast.Token) bool {
	for k, t := range stmt {
		switch {
		case t.Text == "return" || t.Text == "goto" || t.Text == "break" || t.Text == "continue":
			return true
		case t.Text == "(" && k+1 < len(stmt) && stmt[k+1].Text == "{":
			return true
		case t.Kind == ast.Ident && k+1 < len(stmt) && stmt[k+1].Text == "(" && strings.ToUpper(t.Text) == t.Text && strings.ContainsAny(t.Text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
			return true
		}
	}
	return false
}

// call is one call of a function, in the file.
type call struct {
	fn   *ast.Func
	off  int
	args [][]ast.Token
}

// calls finds every call of the static function name in the file; false
// when the name appears other than as a call or its own definition or
// prototype (a function pointer, a macro: callers no one can list).
func (w *writes) calls(name string) ([]call, bool) {
	toks := w.f.CodeTokens(ast.Span{Off: 0, End: len(w.f.Src)})
	word := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`)
	for _, t := range w.f.Tokens {
		if t.Kind == ast.Directive && word.MatchString(t.Text) {
			return nil, false // a macro names it
		}
	}
	var out []call
	for i, t := range toks {
		if t.Text != name || t.Kind != ast.Ident {
			continue
		}
		if i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".") {
			continue
		}
		fn := w.f.FuncAt(t.Off)
		if fn == nil {
			// its definition's header, or a prototype at the top level
			if i+1 < len(toks) && toks[i+1].Text == "(" && isDecl(toks, i) {
				continue
			}
			return nil, false
		}
		if t.Off < fn.Body.Off {
			if fn.Name == name {
				continue // the definition
			}
			return nil, false
		}
		if i+1 >= len(toks) || toks[i+1].Text != "(" {
			return nil, false
		}
		c := ast.MatchForward(toks, i+1)
		if c < 0 {
			return nil, false
		}
		out = append(out, call{fn: fn, off: t.Off, args: ast.SplitTop(toks[i+2 : c])})
	}
	return out, true
}

// trackFirstWrites records, as the member's uses are checked, the reads
// no write of the same object precedes on every path (pl.unwritten).
func trackFirstWrites(p *rewrite.Pass, pl *plan) {
	m := pl.m
	check := m.Check
	m.Check = func(file string, a *cexpr.Access) string {
		if check != nil {
			if why := check(file, a); why != "" {
				return why
			}
		}
		pl.checkedFirst = true
		if !slices.Contains(pl.useFiles, file) {
			pl.useFiles = append(pl.useFiles, file)
		}
		if a.Kind == cexpr.Assign || a.Kind == cexpr.Designator || a.Kind == cexpr.SizeOf {
			return ""
		}
		if _, ok := sites.OutputArgument(p.Parse(file), a); ok {
			return "" // the callee stores into the member
		}
		if !pl.firstWrite(p, file, a) {
			pl.unwritten = append(pl.unwritten, fmt.Sprintf("%s:%d", file, a.Line))
		}
		return ""
	}
}

// firstWrite is writtenFirst for the plan's member; within the reading
// function only (writtenBefore) when the struct is copied by value
// somewhere: a copy between a write and a read, in a function the
// callers call, would give the read the source's value.
// Each access is answered once (replacedValue's check and
// trackFirstWrites' ask about the same reads).
func (pl *plan) firstWrite(p *rewrite.Pass, file string, a *cexpr.Access) bool {
	if v, ok := pl.firstSeen[a]; ok {
		return v
	}
	var v bool
	if len(pl.copies) > 0 {
		v = writtenBefore(p.Parse(file), a)
	} else {
		w := pl.writers[file]
		if w == nil {
			w = &writes{p: p, f: p.Parse(file), member: pl.m.Name, summaries: map[string][]*object{}}
			if pl.writers == nil {
				pl.writers = map[string]*writes{}
			}
			pl.writers[file] = w
		}
		v = writtenFirst(w, a)
	}
	if pl.firstSeen == nil {
		pl.firstSeen = map[*cexpr.Access]bool{}
	}
	pl.firstSeen[a] = v
	return v
}

// readsWrittenFirst reports whether every read of the member was found to
// follow a write of it on every path.
func (pl *plan) readsWrittenFirst() bool { return pl.checkedFirst && len(pl.unwritten) == 0 }
