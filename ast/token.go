// Package ast is kprewrite's model of C source text.
//
// It works on the raw text of .c and .h files as they are in the tree, before
// preprocessing: every token keeps its exact byte offsets, and comments and
// preprocessor lines are tokens too, so edits can be made on the original
// text without losing formatting. On the tokens, a tolerant scanner finds the
// definitions a livepatch engineer cares about (structs and their members,
// functions, macros, file-scope variables, static locals) together with the
// #if conditions around them. Facts that need the compiler (types of
// expressions, layouts) come from gcc, not from here.
package ast

import (
	"regexp"
	"sort"
	"strings"
)

// Kind classifies a token.
type Kind uint8

// Token kinds.
const (
	Ident     Kind = iota + 1
	Number         // a preprocessing number
	String         // "..." including the quotes
	Char           // '...' including the quotes
	Punct          // an operator or punctuator
	Comment        // /* ... */ or // ...
	Directive      // a whole preprocessor line, continuations included
	Other          // a byte that is none of the above (stray '\', '@', ...)
)

var kindNames = [...]string{"", "ident", "number", "string", "char", "punct", "comment", "directive", "other"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Token is one lexical token of the raw text: src[Off:End].
type Token struct {
	Kind     Kind
	Off, End int
	Text     string
}

// Is reports whether t is the punctuator or identifier s.
func (t Token) Is(s string) bool { return (t.Kind == Punct || t.Kind == Ident) && t.Text == s }

var puncts = []string{
	"...", "<<=", ">>=",
	"->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
	"*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##",
}

// Tokenize splits src into tokens. It never fails: text it cannot classify
// becomes Other tokens, and an unterminated comment or string runs to the end.
func Tokenize(src []byte) []Token {
	s := string(src)
	var toks []Token
	lineStart := true // only whitespace since the last newline
	i := 0
	n := len(s)
	add := func(k Kind, start, end int) {
		toks = append(toks, Token{Kind: k, Off: start, End: end, Text: s[start:end]})
	}
	for i < n {
		c := s[i]
		switch {
		case c == '\n':
			lineStart = true
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '\\' && i+1 < n && s[i+1] == '\n':
			i += 2 // line splice outside a directive
			continue
		}
		start := i
		if c == '#' && lineStart {
			i = scanDirective(s, i)
			add(Directive, start, i)
			continue
		}
		lineStart = false
		switch {
		case c == '/' && i+1 < n && s[i+1] == '*':
			e := strings.Index(s[i+2:], "*/")
			if e < 0 {
				i = n
			} else {
				i = i + 2 + e + 2
			}
			add(Comment, start, i)
		case c == '/' && i+1 < n && s[i+1] == '/':
			for i < n && s[i] != '\n' {
				if s[i] == '\\' && i+1 < n && s[i+1] == '\n' {
					i += 2
					continue
				}
				i++
			}
			add(Comment, start, i)
		case c == '"' || c == '\'':
			i = scanQuoted(s, i)
			if c == '"' {
				add(String, start, i)
			} else {
				add(Char, start, i)
			}
		case isIdentStart(c):
			for i < n && isIdentChar(s[i]) {
				i++
			}
			add(Ident, start, i)
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(s[i+1])):
			i++
			for i < n {
				d := s[i]
				if (d == '+' || d == '-') && (s[i-1] == 'e' || s[i-1] == 'E' || s[i-1] == 'p' || s[i-1] == 'P') {
					i++
					continue
				}
				if isIdentChar(d) || d == '.' {
					i++
					continue
				}
				break
			}
			add(Number, start, i)
		default:
			l := 1
			for _, p := range puncts {
				if strings.HasPrefix(s[i:], p) {
					l = len(p)
					break
				}
			}
			if l == 1 && !strings.ContainsRune("{}[]()<>;:,.?!~*/%+-&^|=#", rune(c)) {
				i++
				add(Other, start, i)
				continue
			}
			i += l
			add(Punct, start, i)
		}
	}
	return toks
}

// scanDirective returns the end of the preprocessor line starting at i:
// the newline that is not spliced by a backslash and not inside a comment.
func scanDirective(s string, i int) int {
	n := len(s)
	for i < n {
		switch {
		case s[i] == '\\' && i+1 < n && s[i+1] == '\n':
			i += 2
		case s[i] == '\\' && i+2 < n && s[i+1] == '\r' && s[i+2] == '\n':
			i += 3
		case s[i] == '\n':
			return i
		case s[i] == '/' && i+1 < n && s[i+1] == '*':
			e := strings.Index(s[i+2:], "*/")
			if e < 0 {
				return n
			}
			i = i + 2 + e + 2
		case s[i] == '/' && i+1 < n && s[i+1] == '/':
			for i < n && s[i] != '\n' {
				i++
			}
			return i
		case s[i] == '"' || s[i] == '\'':
			i = scanQuoted(s, i)
		default:
			i++
		}
	}
	return n
}

// scanQuoted returns the end of the string or char literal at i. An
// unterminated literal ends at the end of its line.
func scanQuoted(s string, i int) int {
	q := s[i]
	i++
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case q:
			return i + 1
		case '\n':
			return i
		}
		i++
	}
	return len(s)
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

// IsIdent reports whether s is a C identifier.
func IsIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// Lines maps byte offsets to 1-based line and column numbers.
type Lines struct{ starts []int }

// NewLines indexes the line starts of src.
func NewLines(src []byte) Lines {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return Lines{starts}
}

// Line returns the 1-based line of offset off.
func (l Lines) Line(off int) int {
	return sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off })
}

// Col returns the 1-based byte column of offset off.
func (l Lines) Col(off int) int { return off - l.starts[l.Line(off)-1] + 1 }

// Start returns the offset of the first byte of 1-based line n.
func (l Lines) Start(n int) int {
	if n < 1 {
		return 0
	}
	if n > len(l.starts) {
		return l.starts[len(l.starts)-1]
	}
	return l.starts[n-1]
}

// Count returns the number of lines (a final line without newline counts).
func (l Lines) Count() int { return len(l.starts) }

// DirectiveName returns the name of a directive token ("define", "if", ...)
// and the text after it, with line splices removed.
func DirectiveName(t Token) (name, rest string) {
	s := strings.ReplaceAll(t.Text, "\\\n", " ")
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	i := 0
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// NamesRE matches any of names as a whole identifier in text (a word:
// "flags" in "->flags", not in "fwflags"). It looks at text only: a name
// in a comment or a string matches too, which is the safe side for "may
// this file name it".
func NamesRE(names []string) *regexp.Regexp {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return regexp.MustCompile(`\b(?:` + strings.Join(quoted, "|") + `)\b`)
}

// NamesAny reports whether tokens name one of names: an identifier token,
// or an identifier in the body of a directive (a macro that uses it).
func NamesAny(tokens []Token, names map[string]bool) bool {
	for _, t := range tokens {
		if t.Kind == Ident && names[t.Text] {
			return true
		}
		if t.Kind == Directive {
			for _, x := range Tokenize([]byte(t.Text[1:])) {
				if x.Kind == Ident && names[x.Text] {
					return true
				}
			}
		}
	}
	return false
}

// Idents lists the identifiers of a text (a macro body, a line), in order.
func Idents(text string) []string {
	var out []string
	for _, t := range Tokenize([]byte(text)) {
		if t.Kind == Ident {
			out = append(out, t.Text)
		}
	}
	return out
}
