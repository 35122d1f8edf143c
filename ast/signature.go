package ast

import "strings"

// Signature is what a call needs to know of a function: its return type
// and its parameters' types, as written (tokens joined by single spaces,
// comments and parameter names dropped). A function and a function
// pointer of the same signature are called the same way.
type Signature struct {
	Return string
	Params []string
}

// ParseSignature reads the signature of name in decl, the text of a
// function's header ("int f(struct a *x, size_t n)") or of a
// function-pointer declaration ("int (*f)(struct a *x, size_t n)"). It
// reports false when decl declares no function of that name.
func ParseSignature(decl, name string) (Signature, bool) {
	var toks []Token
	for _, t := range Tokenize([]byte(decl)) {
		if t.Kind != Comment && t.Kind != Directive {
			toks = append(toks, t)
		}
	}
	at := -1
	for i, t := range toks {
		if t.Kind == Ident && t.Text == name {
			at = i
			break
		}
	}
	if at < 0 {
		return Signature{}, false
	}
	var ret []string
	for _, t := range toks[:at] {
		switch t.Text {
		case "static", "extern", "inline", "__always_inline", "noinline", "notrace":
			continue
		}
		ret = append(ret, t.Text)
	}
	open := at + 1
	if n := len(ret); n >= 2 && ret[n-1] == "*" && ret[n-2] == "(" {
		// "(*name)": the pointer's declarator
		ret = ret[:n-2]
		if open >= len(toks) || toks[open].Text != ")" {
			return Signature{}, false
		}
		open++
	}
	if open >= len(toks) || toks[open].Text != "(" {
		return Signature{}, false
	}
	sig := Signature{Return: strings.Join(ret, " ")}
	var param []Token
	depth := 0
	for _, t := range toks[open+1:] {
		switch {
		case t.Text == "(" || t.Text == "[":
			depth++
		case (t.Text == ")" || t.Text == "]") && depth > 0:
			depth--
		case depth == 0 && (t.Text == "," || t.Text == ")"):
			if p := paramType(param); p != "" && !(p == "void" && t.Text == ")" && len(sig.Params) == 0) {
				sig.Params = append(sig.Params, p)
			}
			param = nil
			if t.Text == ")" {
				return sig, true
			}
			continue
		}
		param = append(param, t)
	}
	return Signature{}, false
}

// paramType is a parameter declaration's type: its tokens without the
// parameter's name (the last identifier, when a type comes before it).
func paramType(toks []Token) string {
	n := len(toks)
	if n >= 2 && toks[n-1].Kind == Ident {
		switch {
		case toks[n-2].Text == "struct" || toks[n-2].Text == "union" || toks[n-2].Text == "enum":
		case basicTypeWords[toks[n-1].Text]:
		default:
			toks = toks[:n-1]
		}
	}
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = t.Text
	}
	return strings.Join(words, " ")
}

// basicTypeWords are the words of C's basic types: an unnamed parameter
// may end in one.
var basicTypeWords = map[string]bool{
	"void": true, "char": true, "short": true, "int": true, "long": true, "float": true, "double": true,
	"signed": true, "unsigned": true, "_Bool": true, "bool": true,
}

// IsPointer reports whether a parameter type from a Signature is a plain
// object pointer ("struct a *", "void *", "const u8 *"): not a function
// pointer, not an array.
func IsPointer(typ string) bool {
	return strings.HasSuffix(typ, "*") && !strings.ContainsAny(typ, "([")
}

// PointerRetyped reports whether b is a with only the types of pointer
// parameters changed (or nothing): a call made for either passes the same
// registers, and a pointer of one type converts to the other unchanged.
func PointerRetyped(a, b Signature) bool {
	if a.Return != b.Return || len(a.Params) != len(b.Params) {
		return false
	}
	for i := range a.Params {
		if a.Params[i] != b.Params[i] && !(IsPointer(a.Params[i]) && IsPointer(b.Params[i])) {
			return false
		}
	}
	return true
}
