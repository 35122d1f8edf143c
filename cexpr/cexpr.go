// Package cexpr reads the C expression around a struct member use in raw
// source text: the object expression before '->' or '.', and whether the
// member is read, assigned, updated with a compound operator, incremented,
// or has its address or size taken. Transforms use it to turn member uses
// into accessor calls while keeping the rest of the text as written.
package cexpr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
)

// Kind is how an access uses the member.
type Kind int

// Access kinds.
const (
	Read     Kind = iota
	Assign        // m = v
	Compound      // m op= v
	IncDec        // m++, ++m, m--, --m
	AddrOf        // &m (or &m.sub...)
	SizeOf        // sizeof / typeof / __typeof__ / offsetof on the member
	// Designator: ".m = v" in a compound literal assigned to an object
	// ("*p = (struct s){ .a = 1, .m = v };"): the literal zeroes every
	// member it does not name, and stores v in m.
	Designator
)

func (k Kind) String() string {
	return [...]string{"read", "assignment", "compound assignment", "increment/decrement", "address-of", "sizeof/typeof", "designated initializer"}[k]
}

// Access is one member access in the text.
type Access struct {
	Kind      Kind
	Arrow     bool     // '->' (pointer) rather than '.'
	Object    ast.Span // the object (or pointer) expression
	Member    ast.Span // the member name
	Op        string   // "=", "|=", "++", "--", ...
	Value     ast.Span // right-hand side of an assignment
	Full      ast.Span // the text an accessor call replaces
	Statement bool     // the whole expression statement is this write
	Pure      bool     // the object expression has no side effects (safe to evaluate twice)
	InMacro   bool     // inside a #define body
	Line      int
	Name      string // the member name
	// For a Designator: Entry is the text to delete (".m = v," with its
	// line when it has one of its own) and StmtEnd the offset after the
	// ';' of the assignment that holds the literal.
	Entry   ast.Span
	StmtEnd int
	// Chained is the token after the member when the access goes on
	// (".", "->", "["): Kind is then AddrOf.
	Chained string
}

// Find analyses the access whose '->' or '.' token, or member name, starts
// at byte offset op (gcc points at either, depending on its message).
func Find(f *ast.File, op int) (*Access, error) {
	toks, inMacro := tokensAround(f, op)
	i := sort.Search(len(toks), func(i int) bool { return toks[i].Off >= op })
	if i < len(toks) && i > 0 && toks[i].Off == op && toks[i].Kind == ast.Ident && (toks[i-1].Text == "->" || toks[i-1].Text == ".") {
		i--
		op = toks[i].Off
	}
	if i >= len(toks) || toks[i].Off != op || (toks[i].Text != "->" && toks[i].Text != ".") {
		return nil, fmt.Errorf("%s:%d: no '->' or '.' where the compiler points", f.Name, f.Line(op))
	}
	if i+1 >= len(toks) || toks[i+1].Kind != ast.Ident {
		return nil, fmt.Errorf("%s:%d: no member name after %q", f.Name, f.Line(op), toks[i].Text)
	}
	a := &Access{Arrow: toks[i].Text == "->", Member: span(toks[i+1]), InMacro: inMacro, Line: f.Line(op), Name: toks[i+1].Text}
	if toks[i].Text == "." && i > 0 && (toks[i-1].Text == "{" || toks[i-1].Text == ",") {
		return designator(f, toks, i, a)
	}
	// The object expression: a postfix expression ending right before op.
	start := objectStart(toks, i)
	if start >= i {
		return nil, fmt.Errorf("%s:%d: cannot read the object expression before %q", f.Name, f.Line(op), toks[i].Text)
	}
	a.Object = ast.Span{Off: toks[start].Off, End: toks[i-1].End}
	a.Pure = pure(toks[start:i])
	end := i + 1 // index of the member name
	// What comes after: a longer member chain (m.sub or m[i]) means the
	// member itself is not the whole operand.
	after := end + 1
	before := start - 1
	prev := func() string {
		if before >= 0 {
			return toks[before].Text
		}
		return ";"
	}
	next := ""
	if after < len(toks) {
		next = toks[after].Text
	}
	a.Full = ast.Span{Off: toks[start].Off, End: toks[end].End}
	switch {
	case prev() == "&" && !isBinaryContext(toks, before):
		a.Kind = AddrOf
		return a, nil
	case sizeofContext(toks, before):
		a.Kind = SizeOf
		return a, nil
	case next == "." || next == "->" || next == "[":
		// m.x or m[i]: a use of the member's storage as an aggregate (for
		// a pointer member, m->x reads it: Chained lets the caller, who
		// knows the type, say so)
		a.Kind, a.Chained = AddrOf, next
		return a, nil
	case next == "++" || next == "--":
		a.Kind, a.Op = IncDec, next
		a.Full.End = toks[after].End
		a.Statement = statementStart(toks, before) && after+1 < len(toks) && toks[after+1].Text == ";"
		return a, nil
	case prev() == "++" || prev() == "--":
		a.Kind, a.Op = IncDec, prev()
		a.Full.Off = toks[before].Off
		a.Statement = statementStart(toks, before-1) && after < len(toks) && toks[after].Text == ";"
		return a, nil
	case next == "=":
		a.Kind, a.Op = Assign, "="
	case len(next) >= 2 && strings.HasSuffix(next, "=") && next != "==" && next != "!=" && next != "<=" && next != ">=":
		a.Kind, a.Op = Compound, next
	default:
		a.Kind = Read
		return a, nil
	}
	// The right-hand side runs to the end of the assignment expression.
	vs := after + 1
	ve := valueEnd(toks, vs)
	if ve == vs {
		return nil, fmt.Errorf("%s:%d: assignment without a value", f.Name, f.Line(op))
	}
	a.Value = ast.Span{Off: toks[vs].Off, End: toks[ve-1].End}
	a.Full.End = a.Value.End
	a.Statement = statementStart(toks, before) && ve < len(toks) && toks[ve].Text == ";"
	return a, nil
}

func span(t ast.Token) ast.Span { return ast.Span{Off: t.Off, End: t.End} }

// valueEnd returns the index of the token that ends the expression
// starting at toks[vs]: a ',' or ';' outside brackets, or the bracket that
// closes the one the expression is in.
func valueEnd(toks []ast.Token, vs int) int {
	depth := 0
	ve := vs
	for ; ve < len(toks); ve++ {
		t := toks[ve].Text
		if t == "(" || t == "[" || t == "{" {
			depth++
		} else if t == ")" || t == "]" || t == "}" {
			if depth == 0 {
				break
			}
			depth--
		} else if depth == 0 && (t == ";" || t == ",") {
			break
		}
	}
	return ve
}

// designator reads ".m = v" at toks[i] as an access of the object a
// compound literal is assigned to: "*p = (struct s){ ..., .m = v, ... };"
// (the object *p, through the pointer p) or "x = (struct s){ ... };". Any
// other initializer (a declaration's, a nested one, an array's) is an
// error: kprewrite cannot place a statement after it.
func designator(f *ast.File, toks []ast.Token, i int, a *Access) (*Access, error) {
	fail := func(why string) (*Access, error) {
		return nil, fmt.Errorf("%s:%d: the member is set in %s", f.Name, a.Line, why)
	}
	if i+3 >= len(toks) || toks[i+2].Text != "=" {
		return fail("a nested designator")
	}
	// the brace that opens the literal
	open, depth := -1, 0
	for k := i - 1; k >= 0; k-- {
		switch toks[k].Text {
		case ")", "]", "}":
			depth++
		case "(", "[":
			depth--
		case "{":
			if depth == 0 {
				open = k
			} else {
				depth--
			}
		case ";":
			return fail("an initializer kprewrite cannot read")
		}
		if open >= 0 || depth < 0 {
			break
		}
	}
	if open < 0 {
		return fail("an initializer kprewrite cannot read")
	}
	// "(struct s)" before it, then "=", then the object
	if open < 3 || toks[open-1].Text != ")" {
		return fail("a declaration's or an array's initializer, not a compound literal assigned to an object")
	}
	lp := ast.MatchBack(toks, open-1)
	if lp < 2 || toks[lp+1].Text != "struct" || toks[lp-1].Text != "=" {
		return fail("a compound literal that is not assigned to an object")
	}
	eq := lp - 1
	start := eq
	for start > 0 && toks[start-1].Text != ";" && toks[start-1].Text != "{" && toks[start-1].Text != "}" {
		start--
	}
	obj := toks[start:eq]
	switch {
	case len(obj) >= 2 && obj[0].Text == "*" && pure(obj[1:]) && objectStart(obj, len(obj)) == 1:
		a.Arrow = true
		a.Object = ast.Span{Off: obj[1].Off, End: obj[len(obj)-1].End}
	case len(obj) >= 1 && pure(obj) && objectStart(obj, len(obj)) == 0:
		a.Object = ast.Span{Off: obj[0].Off, End: obj[len(obj)-1].End}
	default:
		return fail("a compound literal assigned to an expression kprewrite cannot take the address of")
	}
	a.Pure = true
	// the value: to the ',' or '}' that ends the entry
	vs := i + 3
	ve := valueEnd(toks, vs)
	if ve == vs || ve >= len(toks) {
		return fail("an entry without a value")
	}
	value := toks[vs:ve]
	if !pure(value) {
		return fail("an entry whose value has side effects (it would run after the literal)")
	}
	for _, t := range value {
		for _, o := range obj {
			if o.Kind == ast.Ident && t.Text == o.Text {
				return fail("an entry whose value reads the object the literal is assigned to")
			}
		}
	}
	// the statement's end
	end := ast.MatchForward(toks, open)
	if end < 0 || end+1 >= len(toks) || toks[end+1].Text != ";" {
		return fail("a compound literal that is not a whole statement")
	}
	a.Kind, a.Op = Designator, "="
	a.Value = ast.Span{Off: value[0].Off, End: value[len(value)-1].End}
	a.Full = ast.Span{Off: toks[i].Off, End: a.Value.End}
	a.StmtEnd = toks[end+1].End
	a.Statement = true
	a.Entry = a.Full
	if toks[ve].Text == "," {
		a.Entry.End = toks[ve].End
		for a.Entry.End < len(f.Src) && f.Src[a.Entry.End] == ' ' {
			a.Entry.End++ // ".m = 3, .a = 1": the space before the next entry
		}
	} else if toks[i-1].Text == "," {
		a.Entry.Off = toks[i-1].Off // the last entry: its comma goes
	}
	// the whole line, when the entry has one of its own
	ls, le := ast.LineStart(f.Src, a.Entry.Off), a.Entry.End
	for le < len(f.Src) && (f.Src[le] == ' ' || f.Src[le] == '\t') {
		le++
	}
	if strings.TrimSpace(string(f.Src[ls:a.Entry.Off])) == "" && le < len(f.Src) && f.Src[le] == '\n' {
		a.Entry = ast.Span{Off: ls, End: le + 1}
	}
	return a, nil
}

// tokensAround returns the code tokens of the file, or of the #define body
// holding off, with real offsets.
func tokensAround(f *ast.File, off int) ([]ast.Token, bool) {
	for _, t := range f.Tokens {
		if t.Kind == ast.Directive && t.Off <= off && off < t.End {
			var out []ast.Token
			// skip the '#' so the body is tokenized as code
			for _, s := range ast.Tokenize([]byte(t.Text[1:])) {
				if s.Kind == ast.Comment || s.Kind == ast.Directive {
					continue
				}
				s.Off += t.Off + 1
				s.End += t.Off + 1
				out = append(out, s)
			}
			return out, true
		}
	}
	var out []ast.Token
	for _, t := range f.Tokens {
		if t.Kind != ast.Comment && t.Kind != ast.Directive {
			out = append(out, t)
		}
	}
	return out, false
}

// objectStart walks back from the '->'/'.' at i over a postfix
// expression: a primary (identifier, constant, or parenthesised
// expression) followed by member accesses, calls and indexes.
func objectStart(toks []ast.Token, i int) int {
	k := i - 1
	for k >= 0 {
		t := toks[k]
		switch {
		case t.Text == "]":
			o := ast.MatchBack(toks, k)
			if o <= 0 {
				return i
			}
			k = o - 1 // the indexed expression
		case t.Text == ")":
			o := ast.MatchBack(toks, k)
			if o < 0 {
				return i
			}
			if o > 0 && (toks[o-1].Kind == ast.Ident && !isKeyword(toks[o-1].Text) || toks[o-1].Text == ")" || toks[o-1].Text == "]") {
				k = o - 1 // a call: the callee is a postfix expression too
				continue
			}
			return o // a parenthesised primary
		case t.Kind == ast.Ident || t.Kind == ast.Number || t.Kind == ast.String:
			if k >= 2 && (toks[k-1].Text == "->" || toks[k-1].Text == ".") {
				k -= 2
				continue
			}
			return k
		default:
			return k + 1
		}
	}
	return 0
}

func isKeyword(s string) bool {
	switch s {
	case "if", "while", "for", "switch", "return", "sizeof", "typeof", "__typeof__", "case":
		return true
	}
	return false
}

// Pure reports whether an expression can be evaluated twice: no call, no
// assignment, no increment.
func Pure(toks []ast.Token) bool { return pure(toks) }

// pure reports whether an object expression can be evaluated twice.
func pure(toks []ast.Token) bool {
	for k, t := range toks {
		switch t.Text {
		case "++", "--", "=", "+=", "-=", "*=", "/=", "|=", "&=", "^=", "<<=", ">>=", "%=":
			return false
		case "(":
			if k > 0 && toks[k-1].Kind == ast.Ident && !isKeyword(toks[k-1].Text) {
				return false // a call
			}
		}
	}
	return true
}

// statementStart reports whether the token at k ends the previous
// statement (so what follows starts an expression statement).
func statementStart(toks []ast.Token, k int) bool {
	if k < 0 {
		return true
	}
	switch toks[k].Text {
	case ";", "{", "}", "else", ":", "do":
		return true
	case ")":
		// the end of if (...), while (...) or for (...)
		o := ast.MatchBack(toks, k)
		return o > 0 && (toks[o-1].Text == "if" || toks[o-1].Text == "while" || toks[o-1].Text == "for")
	}
	return false
}

// isBinaryContext reports whether the '&' at k is a binary operator.
func isBinaryContext(toks []ast.Token, k int) bool {
	if k <= 0 {
		return false
	}
	p := toks[k-1]
	return p.Kind == ast.Ident && !isKeyword(p.Text) || p.Kind == ast.Number || p.Text == ")" || p.Text == "]"
}

// sizeofContext reports whether the operand that starts after k is the
// argument of sizeof, typeof or offsetof-like macros.
func sizeofContext(toks []ast.Token, k int) bool {
	for j := k; j >= 0 && j >= k-3; j-- {
		switch toks[j].Text {
		case "sizeof", "typeof", "__typeof__", "__typeof", "sizeof_field", "offsetof", "offsetofend", "typeof_member", "__same_type":
			return true
		case "(":
			continue
		default:
			if j != k {
				return false
			}
		}
	}
	return false
}

// Rewriter turns accesses of one file into replacement text, handling
// accesses nested inside other accesses' values.
type Rewriter struct {
	Src []byte
	// Get returns the text that reads the member of access a, whose object
	// text (with nested accesses already rewritten) is obj; obj is a pointer
	// expression when a.Arrow, an lvalue otherwise.
	Get func(a *Access, obj string) string
	// Set returns the statement text that stores val.
	Set func(a *Access, obj, val string) string
}

// Rewrite returns edits for the given accesses. Accesses inside another
// access's object or value are folded into its replacement text. Accesses
// that are not rewritable (address-of, sizeof, writes that are not whole
// statements, compound writes on impure objects) are returned as errors.
func (r *Rewriter) Rewrite(accs []*Access) ([]edit.Edit, []error) {
	var errs []error
	var ok []*Access
	for _, a := range accs {
		switch {
		case a.Kind == AddrOf:
			errs = append(errs, fmt.Errorf("line %d: the member's address or storage is used (&, a sub-member or an index)", a.Line))
		case a.Kind == SizeOf:
			errs = append(errs, fmt.Errorf("line %d: sizeof/typeof/offsetof on the member", a.Line))
		case (a.Kind == Assign || a.Kind == Compound || a.Kind == IncDec) && !a.Statement:
			errs = append(errs, fmt.Errorf("line %d: the %s is used as a value, not a statement", a.Line, a.Kind))
		case (a.Kind == Compound || a.Kind == IncDec) && !a.Pure:
			errs = append(errs, fmt.Errorf("line %d: the %s would evaluate an object expression with side effects twice", a.Line, a.Kind))
		default:
			ok = append(ok, a)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sort.Slice(ok, func(i, j int) bool {
		if ok[i].Full.Off != ok[j].Full.Off {
			return ok[i].Full.Off < ok[j].Full.Off
		}
		return ok[i].Full.End > ok[j].Full.End
	})
	// top-level accesses: not contained in an earlier one
	var edits []edit.Edit
	for i := 0; i < len(ok); {
		a := ok[i]
		j := i + 1
		for j < len(ok) && ok[j].Full.Off < a.Full.End {
			j++
		}
		if a.Kind == Designator {
			// the entry goes; the store follows the statement
			set := r.Set(a, r.text(a.Object, nil), r.text(a.Value, ok[i+1:j]))
			edits = append(edits, edit.Edit{Off: a.Entry.Off, End: a.Entry.End, Text: ""},
				edit.Edit{Off: a.StmtEnd, End: a.StmtEnd, Text: "\n" + indentOf(r.Src, a.StmtEnd) + set + ";"})
			i = j
			continue
		}
		edits = append(edits, edit.Edit{Off: a.Full.Off, End: a.Full.End, Text: r.render(a, ok[i+1:j])})
		i = j
	}
	return edits, nil
}

// text renders [s.Off, s.End) with the accesses inside it replaced.
func (r *Rewriter) text(s ast.Span, inner []*Access) string {
	var b strings.Builder
	pos := s.Off
	for i := 0; i < len(inner); {
		a := inner[i]
		if a.Full.Off < pos || a.Full.End > s.End {
			i++
			continue
		}
		j := i + 1
		for j < len(inner) && inner[j].Full.Off < a.Full.End {
			j++
		}
		b.Write(r.Src[pos:a.Full.Off])
		b.WriteString(r.render(a, inner[i+1:j]))
		pos = a.Full.End
		i = j
	}
	b.Write(r.Src[pos:s.End])
	return b.String()
}

func (r *Rewriter) render(a *Access, inner []*Access) string {
	obj := r.text(a.Object, inner)
	switch a.Kind {
	case Read:
		return r.Get(a, obj)
	case Assign:
		return r.Set(a, obj, r.text(a.Value, inner))
	case Compound:
		op := strings.TrimSuffix(a.Op, "=")
		return r.Set(a, obj, r.Get(a, obj)+" "+op+" ("+r.text(a.Value, inner)+")")
	case IncDec:
		op := "+"
		if a.Op == "--" {
			op = "-"
		}
		return r.Set(a, obj, r.Get(a, obj)+" "+op+" 1")
	}
	return string(r.Src[a.Full.Off:a.Full.End])
}

// indentOf returns the indentation of the line holding off.
func indentOf(src []byte, off int) string {
	ls := ast.LineStart(src, off)
	e := ls
	for e < len(src) && (src[e] == ' ' || src[e] == '\t') {
		e++
	}
	return string(src[ls:e])
}

// AddressOf returns the pointer expression for an object expression:
// "&obj" for a postfix expression (a name, then members, subscripts and
// calls: "&dev->stats", "&tbl[i].x"), which binds tighter than '&', and
// "&(obj)" for anything else.
func AddressOf(obj string, ptr bool) string {
	if ptr {
		return obj
	}
	if postfix(obj) {
		return "&" + strings.TrimSpace(obj)
	}
	return "&(" + obj + ")"
}

// postfix reports whether e is a name followed by member accesses,
// subscripts and calls only.
func postfix(e string) bool {
	toks := ast.Tokenize([]byte(e))
	if len(toks) == 0 || toks[0].Kind != ast.Ident {
		return false
	}
	for k := 1; k < len(toks); k++ {
		switch toks[k].Text {
		case "->", ".":
			if k+1 >= len(toks) || toks[k+1].Kind != ast.Ident {
				return false
			}
			k++
		case "[", "(":
			if k = ast.MatchForward(toks, k); k < 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Truth reads the expression toks[lo..hi] as a test: zero is true when the
// test holds for a zero value; ok is false when the value is used
// otherwise (stored, compared with another number, passed on). A test
// is "!x", "x == 0", "x != NULL", a whole if or while condition, or an
// operand of "&&", "||" or "?", through parentheses and likely().
func Truth(toks []ast.Token, lo, hi int) (zero, ok bool) {
	tested := false
	for {
		switch {
		case lo > 0 && toks[lo-1].Text == "!":
			zero, tested, lo = !zero, true, lo-1
		case hi+2 < len(toks) && (toks[hi+1].Text == "==" || toks[hi+1].Text == "!=") && zeroes[toks[hi+2].Text]:
			zero, tested = zero != (toks[hi+1].Text == "=="), true
			hi += 2
		case lo > 1 && hi+1 < len(toks) && toks[lo-1].Text == "(" && toks[hi+1].Text == ")" && (toks[lo-2].Text == "likely" || toks[lo-2].Text == "unlikely"):
			lo, hi = lo-2, hi+1
		case lo > 0 && hi+1 < len(toks) && toks[lo-1].Text == "(" && toks[hi+1].Text == ")" && (lo < 2 || toks[lo-2].Kind != ast.Ident):
			lo, hi = lo-1, hi+1 // parentheses
		default:
			if tested {
				return zero, true
			}
			cond := lo > 1 && toks[lo-1].Text == "(" && (toks[lo-2].Text == "if" || toks[lo-2].Text == "while") && hi+1 < len(toks) && toks[hi+1].Text == ")"
			logic := lo > 0 && (toks[lo-1].Text == "&&" || toks[lo-1].Text == "||") || hi+1 < len(toks) && (toks[hi+1].Text == "&&" || toks[hi+1].Text == "||" || toks[hi+1].Text == "?")
			return false, cond || logic
		}
	}
}

// zeroes are the spellings of a zero value a test compares with.
var zeroes = map[string]bool{"0": true, "NULL": true, "false": true}
