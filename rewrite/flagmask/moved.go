package flagmask

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

func key(ch *change.Change) string { return ch.PreStruct.Kind + " " + ch.Struct }

// check reads every use of the moved mask and, with the compiler, every
// use of its word in the patched sources; why says which one keeps the
// member's state from being taken back.
func (m *moved) check(p *rewrite.Pass, srcs []string, renames map[string]*renamed) string {
	ch := m.entry.Change
	pm := ch.PreMember
	if len(pm.Array) > 0 || pm.Nested != nil || pm.Macro != "" || strings.Contains(pm.Type, "*") {
		return fmt.Sprintf("%s is not an integer member, so it cannot hold the state of mask %s", ch.Member, m.mask)
	}
	for _, h := range p.Touched() {
		if !change.IsHeader(h) || p.File(h) == nil {
			continue
		}
		if hf := p.Parse(h); slices.ContainsFunc(sites.CodeTokens(hf), func(t ast.Token) bool { return t.Text == m.mask }) {
			return fmt.Sprintf("%s uses %s in header code: only the patched .c files' tests and initializers are rewritten", h, m.mask)
		}
	}
	// the textual uses of the mask: tests and initializers of one word
	at := map[string]bool{} // "file:offset" of the word of each use
	for _, file := range srcs {
		f := p.Parse(file)
		for _, mac := range f.Macros {
			if slices.Contains(ast.Idents(mac.Body), m.mask) {
				return fmt.Sprintf("%s:%d: the macro %s uses %s: only tests and initializers of the patched code are rewritten", file, f.Line(mac.Span.Off), mac.Name, m.mask)
			}
		}
		toks := sites.CodeTokens(f)
		for i, t := range toks {
			if t.Kind != ast.Ident || t.Text != m.mask {
				continue
			}
			if i < 2 {
				return fmt.Sprintf("%s:%d uses %s other than as a mask of a word", file, f.Line(t.Off), m.mask)
			}
			w := i - 2 // ".word = C" and "obj->word & C" both have the word two tokens before
			u, why := maskAt(f, toks, w)
			if why != "" {
				return fmt.Sprintf("%s:%d uses %s other than as the mask of a test or a static initializer of a word: %s", file, f.Line(t.Off), m.mask, why)
			}
			if m.word != "" && m.word != toks[w].Text {
				return fmt.Sprintf("%s is a mask of both %s and %s", m.mask, m.word, toks[w].Text)
			}
			m.word = toks[w].Text
			at[fmt.Sprintf("%s:%d", file, toks[w].Off)] = true
			u.file = file
			m.uses = append(m.uses, u)
		}
	}
	if m.word == "" {
		return "the patched sources do not use " + m.mask
	}
	if !hasWord(ch.PreStruct, m.word) || !hasWord(ch.PostStruct, m.word) {
		return fmt.Sprintf("%s is not a member of %s before and after the change", m.word, key(ch))
	}
	if !p.HasCompiler() {
		return "which object each test of " + m.mask + " reads needs the compiler: give --config"
	}
	// every use of the word in the patched sources, from the compiler
	uses, why := m.wordUses(p, srcs)
	if why != "" {
		return why
	}
	seen := 0
	for _, w := range uses {
		f := p.Parse(w.file)
		u, why := maskAt(f, sites.CodeTokens(f), w.tok)
		if why != "" {
			return fmt.Sprintf("%s:%d uses the word %s other than in a test of a mask or a static initializer (%s): upstream that use sees the moved bit too, and objects hold its state in %s, which it would miss",
				w.file, f.Line(w.off), m.word, why, ch.Member)
		}
		if u.constant != m.mask {
			m.others = append(m.others, u.constant)
		}
		m.constantsAt = append(m.constantsAt, fmt.Sprintf("%s:%d", w.file, u.kAt))
		if _, ok := renames[u.constant]; u.constant != m.mask && !ok {
			return fmt.Sprintf("%s:%d uses the word %s with %s, which is neither %s nor a constant the patch puts in an old one's place: whether it covers the moved bit is not known",
				w.file, f.Line(w.off), m.word, u.constant, m.mask)
		}
		if at[fmt.Sprintf("%s:%d", w.file, w.off)] {
			seen++
		}
	}
	if seen != len(m.uses) {
		return fmt.Sprintf("the compiler does not find every use of %s on the word %s of %s", m.mask, m.word, key(ch))
	}
	fc := p.ChangeOf(m.entry.File)
	if fc == nil {
		return "the header's change cannot be read to put the member back"
	}
	var why2 string
	m.restore.at, m.restore.text, m.restore.where, why2 = fc.Restore(ch, p.Parse(m.entry.File))
	if why2 != "" {
		return "the member cannot be put back: " + why2
	}
	return ""
}

// lostRename returns a constant other than the mask the patched code tests
// the word with that is no longer a rename, or "".
func (m *moved) lostRename(renames map[string]*renamed) string {
	for _, k := range m.others {
		if _, ok := renames[k]; !ok {
			return k
		}
	}
	return ""
}

// zeroInit reports whether the positional initializer gcc points at is
// "{ 0 }", which sets no flag.
func zeroInit(p *rewrite.Pass, file string, line, col int) bool {
	if p.File(file) == nil {
		return false
	}
	f := p.Parse(file)
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, f.Lines.Start(line)+col-1)
	return i > 0 && i+1 < len(toks) && toks[i].Text == "0" && toks[i-1].Text == "{" && toks[i+1].Text == "}"
}

// wordUse is where the compiler found the word used.
type wordUse struct {
	file string
	off  int // the word's token
	tok  int // its index in the file's code tokens
}

// wordUses renames the word in the header and compiles the patched sources
// that name it: each error is a use of the struct's word.
func (m *moved) wordUses(p *rewrite.Pass, srcs []string) ([]wordUse, string) {
	ch := m.entry.Change
	hf := p.Parse(m.entry.File)
	st := hf.Struct(ch.Struct)
	if st == nil {
		return nil, "the struct cannot be found in the header to check the uses of its word " + m.word
	}
	var es []edit.Edit
	for _, x := range st.Members {
		if x.Name == m.word && x.NameAt.End > 0 {
			es = append(es, edit.Insert(m.entry.File, x.NameAt.End, "__kprewrite_word"))
		}
	}
	if len(es) != 1 {
		return nil, "the word " + m.word + " cannot be found in the header to check its uses"
	}
	// an object of the struct initialized by position ({ "all", FLAGS })
	// names no member: gcc reports it, as an error, for a struct declared
	// designated_init (on the struct's own line, so no line moves); asked
	// in a compile of its own, where every designator still names a member
	src := p.File(m.entry.File)
	kw := st.Span.Off
	if !strings.HasPrefix(string(src[kw:]), st.Kind+" ") {
		return nil, "the struct's definition cannot be read to check how its objects are initialized"
	}
	designated := []edit.Edit{
		edit.Insert(m.entry.File, ast.LineStart(src, kw), `_Pragma("GCC diagnostic error \"-Wdesignated-init\"") `),
		edit.Insert(m.entry.File, kw+len(st.Kind)+1, "__attribute__((designated_init)) "),
	}
	var cand []string
	for _, f := range srcs {
		if strings.Contains(string(p.File(f)), m.word) {
			cand = append(cand, f)
		}
	}
	compilable, err := p.Compilable(cand)
	if err != nil {
		return nil, "the uses of the word cannot be checked: " + p.Failed(err).Error()
	}
	o, err := p.Oracle()
	if err != nil {
		return nil, "the uses of the word cannot be checked without the compiler: " + err.Error()
	}
	files := p.CurrentFiles()
	files[m.entry.File] = []byte(edit.MustApply(string(p.File(m.entry.File)), es))
	res, err := o.MemberUses(p.Context(), files, compilable)
	if err != nil {
		return nil, "the uses of the word cannot be checked: " + p.Failed(err).Error()
	}
	pfiles := p.CurrentFiles()
	pfiles[m.entry.File] = []byte(edit.MustApply(string(src), designated))
	ds, err := o.Diagnostics(p.Context(), pfiles, compilable)
	if err != nil {
		return nil, "how objects of the struct are initialized cannot be checked: " + p.Failed(err).Error()
	}
	for i, d := range ds {
		if d.Severity != "error" || !strings.Contains(d.Message, "positional initialization") {
			continue
		}
		file, line, col := d.File, d.Line, d.Col
		// a value that a macro makes: where the outermost one is invoked
		for _, n := range ds[i+1:] {
			if n.Severity != "note" {
				break
			}
			if strings.HasPrefix(n.Message, "in expansion of macro") {
				file, line, col = n.File, n.Line, n.Col
			}
		}
		if zeroInit(p, file, line, col) {
			continue
		}
		return nil, fmt.Sprintf("%s:%d initializes a %s by position: the compiler cannot show which member a constant sets there", file, line, key(ch))
	}
	var out []wordUse
	for _, u := range res.Of(key(ch), m.word) {
		if u.Expansion != nil {
			return nil, fmt.Sprintf("%s:%d uses the word %s in a macro: only plain tests and initializers are read", u.File, u.Line, m.word)
		}
		if change.IsHeader(u.File) {
			return nil, fmt.Sprintf("%s:%d uses the word %s in a header: only the patched .c files' tests and initializers are rewritten", u.File, u.Line, m.word)
		}
		f := p.Parse(u.File)
		toks := sites.CodeTokens(f)
		i := sites.TokenAt(toks, f.Lines.Start(u.Line)+u.Col-1)
		if i >= 0 && i+1 < len(toks) && (toks[i].Text == "->" || toks[i].Text == ".") && toks[i+1].Text == m.word {
			i++ // gcc points at the operator of a member access, at the name of a designator
		}
		if i < 0 || toks[i].Text != m.word {
			return nil, fmt.Sprintf("%s:%d: the compiler's use of %s is not where kprewrite reads it", u.File, u.Line, m.word)
		}
		out = append(out, wordUse{file: u.File, off: toks[i].Off, tok: i})
	}
	return out, ""
}

func hasWord(s *ast.Struct, name string) bool {
	for _, x := range s.Members {
		if x.Name == name && !x.IsBitfield() && len(x.Array) == 0 && x.Nested == nil {
			return true
		}
	}
	return false
}

// maskAt reads the use of a word whose name is token w: ".word = K" in an
// initializer (K an identifier, then ',' or '}'), or "obj->word & K" (or
// in parentheses) where only its truth counts: an operand of &&, || or !,
// or the condition of if or while.
func maskAt(f *ast.File, toks []ast.Token, w int) (maskUse, string) {
	n := len(toks)
	text := func(a, b int) string { return string(f.Src[toks[a].Off:toks[b].End]) }
	if w < 2 || w+2 >= n {
		return maskUse{}, "not a test or an initializer"
	}
	if toks[w-1].Text == "." && (toks[w-2].Text == "{" || toks[w-2].Text == ",") && toks[w+1].Text == "=" {
		if toks[w+2].Kind != ast.Ident || w+3 >= n || (toks[w+3].Text != "," && toks[w+3].Text != "}") {
			return maskUse{}, "an initializer with a value other than one constant"
		}
		if strings.Contains(text(w-1, w+2), "\n") {
			return maskUse{}, "an initializer over several lines"
		}
		return maskUse{init: true, constant: toks[w+2].Text, kAt: toks[w+2].Off, off: toks[w-1].Off, end: toks[w+2].End}, ""
	}
	sep := toks[w-1].Text
	if sep != "->" && sep != "." {
		return maskUse{}, "not a member access"
	}
	if toks[w+1].Text != "&" || toks[w+2].Kind != ast.Ident {
		return maskUse{}, "not a test of a mask"
	}
	// the object: identifiers, member accesses and subscripts
	k := w - 2
	for k >= 0 {
		if toks[k].Text == "]" {
			depth := 0
			for ; k >= 0; k-- {
				if toks[k].Text == "]" {
					depth++
				} else if toks[k].Text == "[" {
					if depth--; depth == 0 {
						break
					}
				}
			}
			k--
			if k < 0 {
				return maskUse{}, "a subscript kprewrite cannot read"
			}
			continue
		}
		if toks[k].Kind != ast.Ident {
			break
		}
		if k > 0 && (toks[k-1].Text == "->" || toks[k-1].Text == ".") {
			k -= 2
			continue
		}
		k--
		break
	}
	start, end := k+1, w+2
	if start >= w-1 || toks[start].Kind != ast.Ident {
		return maskUse{}, "the object is not a plain expression"
	}
	u := maskUse{obj: text(start, w-2), sep: sep, constant: toks[end].Text, kAt: toks[end].Off}
	// the test as a whole: in parentheses, or as it stands
	a, b := start, end
	paren := a > 0 && toks[a-1].Text == "(" && end+1 < n && toks[end+1].Text == ")" && !condParen(toks, a-1)
	if paren {
		a, b = a-1, end+1
	}
	if a < 1 || b+1 >= n {
		return maskUse{}, "not a test"
	}
	left, right := toks[a-1].Text, toks[b+1].Text
	ok := false
	switch {
	case left == "!" && paren:
		ok = true
	case left == "&&" || left == "||":
		ok = slices.Contains([]string{"&&", "||", "?", ")", ";"}, right)
	case left == "(" && condParen(toks, a-1):
		ok = right == "&&" || right == "||" || right == ")" && closes(toks, a-1, b+1)
	}
	if !ok {
		return maskUse{}, "a test whose value, not only its truth, counts"
	}
	if strings.Contains(text(a, b), "\n") {
		return maskUse{}, "a test over several lines"
	}
	u.off, u.end = toks[a].Off, toks[b].End
	return u, ""
}

// condParen reports whether token i is the '(' of an if or while.
func condParen(toks []ast.Token, i int) bool {
	return toks[i].Text == "(" && i > 0 && (toks[i-1].Text == "if" || toks[i-1].Text == "while")
}

// closes reports whether token j is the ')' that closes the '(' at i.
func closes(toks []ast.Token, i, j int) bool {
	depth := 0
	for k := i; k < len(toks); k++ {
		switch toks[k].Text {
		case "(":
			depth++
		case ")":
			if depth--; depth == 0 {
				return k == j
			}
		}
	}
	return false
}

// apply puts the member back in its struct and says how the entry was
// rewritten.
func (m *moved) apply(p *rewrite.Pass) {
	e, ch := m.entry, m.entry.Change
	p.Edit(edit.Edit{File: e.File, Off: m.restore.at, End: m.restore.at, Text: m.restore.text, Why: "member kept", Hazard: e.Hazard})
	tests, inits := 0, 0
	var files []string
	for _, u := range m.uses {
		if u.init {
			inits++
		} else {
			tests++
		}
		if !slices.Contains(files, u.file) {
			files = append(files, u.file)
		}
	}
	p.Resolve(e, fmt.Sprintf("the member stays in %s (%s); upstream moves its state into mask %s of %s: the patched code's %s and %s of that mask (in %s) read and set %s instead, where the running kernel's objects, static tables included, hold it; code the patch does not change reads %s as the running kernel does (without the mask's state)",
		key(ch), m.restore.where, m.mask, m.word, count(tests, "test"), count(inits, "initializer"), strings.Join(files, ", "), ch.Member, m.word))
}

// count is "1 test", "3 tests".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
