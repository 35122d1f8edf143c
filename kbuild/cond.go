package kbuild

import (
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// Tri is a three-valued truth: a condition may be unknown without a config
// or when it tests a macro that is not a config symbol.
type Tri int8

// Truth values.
const (
	TriUnknown Tri = iota
	True
	False
)

func (t Tri) String() string { return [...]string{"unknown", "true", "false"}[t] }

// EvalCond evaluates a preprocessor condition (the #if context of a piece of
// code) against the config. A nil config makes every config test unknown.
func (c *Config) EvalCond(cond ast.Cond) Tri {
	res := True
	for _, term := range cond {
		v := c.EvalExpr(term.Expr)
		if v == TriUnknown {
			res = TriUnknown
			continue
		}
		if (v == True) != term.Want {
			return False
		}
	}
	return res
}

// EvalExpr evaluates one #if expression.
func (c *Config) EvalExpr(expr string) Tri {
	toks := ast.Tokenize([]byte(expr))
	var code []ast.Token
	for _, t := range toks {
		if t.Kind != ast.Comment {
			code = append(code, t)
		}
	}
	p := &exprParser{cfg: c, toks: code}
	v := p.cond()
	if p.err || p.pos != len(p.toks) {
		return TriUnknown
	}
	if !v.known {
		return TriUnknown
	}
	if v.n != 0 {
		return True
	}
	return False
}

// val is a preprocessor value: intmax_t, or uintmax_t when unsigned (a
// "u" suffix, or an operand of an arithmetic with one), as in C.
type val struct {
	n        int64
	known    bool
	unsigned bool
}

type exprParser struct {
	cfg  *Config
	toks []ast.Token
	pos  int
	err  bool
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos].Text
	}
	return ""
}

func (p *exprParser) next() ast.Token {
	if p.pos < len(p.toks) {
		p.pos++
		return p.toks[p.pos-1]
	}
	p.err = true
	return ast.Token{}
}

func b2v(b bool) val {
	if b {
		return val{n: 1, known: true}
	}
	return val{n: 0, known: true}
}

func (p *exprParser) cond() val {
	c := p.binary(0)
	if p.peek() == "?" {
		p.next()
		a := p.cond()
		if p.peek() != ":" {
			p.err = true
			return val{}
		}
		p.next()
		b := p.cond()
		if !c.known {
			if a.known && b.known && a.n == b.n {
				return a
			}
			return val{}
		}
		if c.n != 0 {
			return a
		}
		return b
	}
	return c
}

var precedence = map[string]int{
	"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
	"<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}

func (p *exprParser) binary(min int) val {
	lhs := p.unary()
	for {
		op := p.peek()
		prec, ok := precedence[op]
		if !ok || prec <= min {
			return lhs
		}
		p.next()
		rhs := p.binary(prec)
		lhs = apply(op, lhs, rhs)
	}
}

func apply(op string, a, b val) val {
	switch op {
	case "||":
		if a.known && a.n != 0 || b.known && b.n != 0 {
			return val{n: 1, known: true}
		}
		if a.known && b.known {
			return val{n: 0, known: true}
		}
		return val{}
	case "&&":
		if a.known && a.n == 0 || b.known && b.n == 0 {
			return val{n: 0, known: true}
		}
		if a.known && b.known {
			return val{n: 1, known: true}
		}
		return val{}
	}
	if !a.known || !b.known {
		return val{}
	}
	// the usual arithmetic conversions: one unsigned operand makes the
	// comparison and the result unsigned (shifts take the left operand's)
	u := a.unsigned || b.unsigned
	ua, ub := uint64(a.n), uint64(b.n)
	switch op {
	case "<", ">", "<=", ">=":
		if u {
			return b2v(map[string]bool{"<": ua < ub, ">": ua > ub, "<=": ua <= ub, ">=": ua >= ub}[op])
		}
	case "<<":
		return val{a.n << uint(b.n&63), true, a.unsigned}
	case ">>":
		if a.unsigned {
			return val{int64(ua >> uint(b.n&63)), true, true}
		}
		return val{a.n >> uint(b.n&63), true, false}
	case "/", "%":
		if u && b.n != 0 {
			if op == "/" {
				return val{int64(ua / ub), true, true}
			}
			return val{int64(ua % ub), true, true}
		}
	case "|", "^", "&", "+", "-", "*":
		if u {
			r := apply(op, val{n: a.n, known: true}, val{n: b.n, known: true})
			r.unsigned = true
			return r
		}
	}
	switch op {
	case "|":
		return val{n: a.n | b.n, known: true}
	case "^":
		return val{n: a.n ^ b.n, known: true}
	case "&":
		return val{n: a.n & b.n, known: true}
	case "==":
		return b2v(a.n == b.n)
	case "!=":
		return b2v(a.n != b.n)
	case "<":
		return b2v(a.n < b.n)
	case ">":
		return b2v(a.n > b.n)
	case "<=":
		return b2v(a.n <= b.n)
	case ">=":
		return b2v(a.n >= b.n)
	case "+":
		return val{n: a.n + b.n, known: true}
	case "-":
		return val{n: a.n - b.n, known: true}
	case "*":
		return val{n: a.n * b.n, known: true}
	case "/", "%":
		if b.n == 0 {
			return val{}
		}
		if op == "/" {
			return val{n: a.n / b.n, known: true}
		}
		return val{n: a.n % b.n, known: true}
	}
	return val{}
}

func (p *exprParser) unary() val {
	switch p.peek() {
	case "!":
		p.next()
		v := p.unary()
		if !v.known {
			return v
		}
		return b2v(v.n == 0)
	case "-":
		p.next()
		v := p.unary()
		return val{-v.n, v.known, v.unsigned}
	case "+":
		p.next()
		return p.unary()
	case "~":
		p.next()
		v := p.unary()
		return val{^v.n, v.known, v.unsigned}
	case "(":
		p.next()
		v := p.cond()
		if p.peek() != ")" {
			p.err = true
		}
		p.next()
		return v
	}
	t := p.next()
	switch t.Kind {
	case ast.Number:
		lower := strings.ToLower(t.Text)
		s := strings.TrimRight(lower, "ul")
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return val{}
		}
		// a u suffix, or a value only uintmax_t holds, is unsigned
		return val{int64(n), true, strings.Contains(lower[len(s):], "u") || n > 1<<63-1}
	case ast.Ident:
		return p.ident(t.Text)
	case ast.Char:
		return val{}
	}
	p.err = true
	return val{}
}

// ident evaluates defined(), the IS_* helpers and plain symbols.
func (p *exprParser) ident(name string) val {
	arg := func() string {
		paren := p.peek() == "("
		if paren {
			p.next()
		}
		a := p.next().Text
		if paren {
			if p.peek() != ")" {
				p.err = true
			}
			p.next()
		}
		return a
	}
	switch name {
	case "defined":
		return p.defined(arg())
	case "IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE":
		sym := arg()
		if p.cfg == nil || !strings.HasPrefix(sym, "CONFIG_") {
			return val{}
		}
		ts := p.cfg.Tristate(sym)
		switch name {
		case "IS_ENABLED":
			return b2v(ts != "n")
		case "IS_BUILTIN":
			return b2v(ts == "y")
		case "IS_MODULE":
			return b2v(ts == "m")
		default: // IS_REACHABLE depends on the including object: known only when built in or off
			if ts == "m" {
				return val{}
			}
			return b2v(ts == "y")
		}
	case "__KERNEL__":
		return val{n: 1, known: true}
	}
	if p.pos < len(p.toks) && p.peek() == "(" {
		// an unknown function-like macro
		depth := 0
		for p.pos < len(p.toks) {
			t := p.next().Text
			if t == "(" {
				depth++
			} else if t == ")" {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		return val{}
	}
	if v, ok := p.cfg.archValue(name); ok {
		return v
	}
	if !strings.HasPrefix(name, "CONFIG_") || p.cfg == nil {
		return val{}
	}
	if strings.HasSuffix(name, "_MODULE") {
		return b2v(p.cfg.Tristate(strings.TrimSuffix(name, "_MODULE")) == "m")
	}
	v, ok := p.cfg.Value(name)
	switch {
	case !ok || v == "n" || v == "m":
		return val{n: 0, known: true}
	case v == "y":
		return val{n: 1, known: true}
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return val{}
	}
	return val{n: n, known: true}
}

func (p *exprParser) defined(sym string) val {
	if v, ok := p.cfg.archDefined(sym); ok {
		return v
	}
	if p.cfg == nil || !strings.HasPrefix(sym, "CONFIG_") {
		if sym == "__KERNEL__" {
			return val{n: 1, known: true}
		}
		return val{}
	}
	if strings.HasSuffix(sym, "_MODULE") {
		return b2v(p.cfg.Tristate(strings.TrimSuffix(sym, "_MODULE")) == "m")
	}
	v, ok := p.cfg.Value(sym)
	return b2v(ok && v != "n" && v != "m")
}

// otherArchMacros are compilers' architecture macros that an x86 build
// never defines.
var otherArchMacros = map[string]bool{"__sparc__": true, "__powerpc__": true, "__powerpc64__": true,
	"__s390__": true, "__s390x__": true, "__aarch64__": true, "__arm__": true, "__mips__": true,
	"__riscv": true, "__ia64__": true, "__alpha__": true, "__hppa__": true, "__m68k__": true, "__loongarch__": true}

// x86 reports whether the config is an x86 one, whose byte order, word size
// and compiler macros follow from it.
func (c *Config) x86() bool {
	return c != nil && (c.Tristate("CONFIG_X86") == "y" || c.Tristate("CONFIG_X86_64") == "y" || c.Tristate("CONFIG_X86_32") == "y")
}

// archDefined decides defined(sym) for the macros the architecture's
// headers and compiler define (byte order, __x86_64__), on an x86 config.
func (c *Config) archDefined(sym string) (val, bool) {
	if !c.x86() {
		return val{}, false
	}
	switch sym {
	case "__LITTLE_ENDIAN_BITFIELD", "__LITTLE_ENDIAN":
		return val{n: 1, known: true}, true
	case "__BIG_ENDIAN_BITFIELD", "__BIG_ENDIAN":
		return val{n: 0, known: true}, true
	case "__x86_64__":
		return b2v(c.Tristate("CONFIG_X86_64") == "y"), true
	case "__i386__":
		return b2v(c.Tristate("CONFIG_X86_64") != "y"), true
	}
	if otherArchMacros[sym] {
		return val{n: 0, known: true}, true
	}
	return val{}, false
}

// archValue decides the word size macros on an x86 config.
func (c *Config) archValue(name string) (val, bool) {
	if !c.x86() {
		return val{}, false
	}
	switch name {
	case "BITS_PER_LONG", "__BITS_PER_LONG":
		if c.Tristate("CONFIG_64BIT") == "y" || c.Tristate("CONFIG_X86_64") == "y" {
			return val{n: 64, known: true}, true
		}
		return val{n: 32, known: true}, true
	}
	return val{}, false
}
