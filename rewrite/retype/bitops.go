package retype

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A flags word made atomic: upstream turns a narrow unsigned member
// ("u8 flags") into an unsigned long so that it can use the kernel's
// atomic bit operations (set_bit(), test_bit(), assign_bit(), ...) on it,
// and turns its masks (BIT(n)) into bit numbers (n). The running kernel's
// layout keeps the narrow member. The patched code's bit operations on it
// become generated ones of the old width: the atomic ones update the word
// with try_cmpxchg(), the others as plain reads and writes, and bit n is
// BIT(n) of the old word, which is where the running kernel's masks put
// it. Objects that exist when the livepatch loads keep their flags as
// they are. It holds when every use of the member in the patched code is
// the address argument of a bit operation, every bit number is a constant
// (or the parameter of a static inline function of the file every call
// of which passes one) below the old width, and every mask the patch
// turns into a bit number names the same bit.
//
// Before (upstream):	-	u8 flags;
//
//	unsigned long flags;
//	...	set_bit(bit, &fwnode->flags);
//
// After (rewritten):	the header keeps "u8 flags";
//
//	...	fwnode_handle_flags_set_bit(bit, &fwnode->flags);

// bitOps are the kernel's bit operations on a word: what each does, and
// whether it is atomic (a read-modify-write another CPU cannot split).
var bitOps = map[string]struct {
	op     string // "set", "clear", "change", "test", "assign"
	tests  bool   // returns the bit (before the update, for the updates)
	atomic bool
}{
	"set_bit":              {"set", false, true},
	"clear_bit":            {"clear", false, true},
	"change_bit":           {"change", false, true},
	"test_and_set_bit":     {"set", true, true},
	"test_and_clear_bit":   {"clear", true, true},
	"test_and_change_bit":  {"change", true, true},
	"assign_bit":           {"assign", false, true},
	"__set_bit":            {"set", false, false},
	"__clear_bit":          {"clear", false, false},
	"__change_bit":         {"change", false, false},
	"__test_and_set_bit":   {"set", true, false},
	"__test_and_clear_bit": {"clear", true, false},
	"__assign_bit":         {"assign", false, false},
	"test_bit":             {"test", true, false},
}

// narrowFlags reports whether a member goes from an unsigned integer type
// narrower than unsigned long to unsigned long, and the old type.
func narrowFlags(a, b *ast.Member) (string, int, bool) {
	if len(a.Array)+len(b.Array) > 0 || a.Bits != "" || b.Bits != "" {
		return "", 0, false
	}
	old := strings.Join(strings.Fields(a.Type), " ")
	ta, ok := intTypes[old]
	if !ok || ta.signed || ta.size >= 8 || strings.Join(strings.Fields(b.Type), " ") != "unsigned long" {
		return "", 0, false
	}
	return old, ta.size * 8, true
}

// bitCall is one bit operation on the member in a patched file.
type bitCall struct {
	file     string
	line     int
	name     string    // set_bit, ...
	nameTok  ast.Token // the call's name, which the helper replaces
	nr       string    // the bit number argument's text
	function *ast.Func
}

// retypeBitops keeps a narrow flags word that upstream makes an unsigned
// long and turns the patched code's bit operations on it into ones of its
// width. It reports false, having refused the entry, when the patched code
// does not use the member as a flags word (no bit operation, or another
// use): another shape (a wider integer, widen.go) may still fit.
func retypeBitops(p *rewrite.Pass, k *kept, e *rewrite.Entry, from string, width int) (flags bool) {
	step := "keep the member's old type (" + from + ") in the header and turn the patched code's bit operations on it into ones of that width"
	cur, reverted, old, ok := oldDeclaration(p, e)
	if !ok {
		return true
	}
	if old == nil {
		p.RefuseManual(e, "the member's lines hold other changes too", step)
		return true
	}
	uses, why := patchedUses(p, e, reverted, old)
	if why != "" {
		p.RefuseManual(e, why, step)
		return true
	}
	var calls []bitCall
	origs := map[string]*ast.File{} // the base tree's files, parsed once
	for _, u := range uses {
		if change.IsHeader(u.File) && runningCode(p, e.File, reverted, u.File) {
			continue // the running kernel's header code, against the old declaration
		}
		if change.IsHeader(u.File) {
			p.RefuseManual(e, fmt.Sprintf("it is used in a header (%s:%d): header2c must move that code into the .c files first", u.File, u.Line), step)
			return true
		}
		f := p.Parse(u.File)
		a, err := findAccess(f, u.Line, u.Col)
		if err != nil {
			p.RefuseManual(e, err.Error(), step)
			return true
		}
		if unchangedFunc(p, origs, u.File, f, a.Full.Off) {
			continue // the running kernel's code, compiled against the old declaration as before
		}
		c, why := bitCallOf(f, a)
		if why != "" {
			// not a flags word: another shape may fit (widen.go)
			p.RefuseManual(e, fmt.Sprintf("%s:%d %s", u.File, u.Line, why), step)
			return false
		}
		c.file, c.line = u.File, u.Line
		calls = append(calls, c)
	}
	if len(calls) == 0 {
		p.RefuseManual(e, "the compiler found no use of it in the patched .c files", step)
		return false
	}
	var bounded []string
	var bits []int
	for _, c := range calls {
		f := p.Parse(c.file)
		v, why := bitNumber(f, c.function, c.nr, 2)
		if why != "" {
			p.RefuseManual(e, fmt.Sprintf("%s:%d: the bit number %s of %s() %s", c.file, c.line, c.nr, c.name, why), step)
			return true
		}
		for _, n := range v {
			if n < 0 || n >= width {
				p.RefuseManual(e, fmt.Sprintf("%s:%d: %s() on bit %d, which the %d-bit %s of the running kernel's layout does not have", c.file, c.line, c.name, n, width, from), "keep the member another way (a shadow variable)")
				return true
			}
			if !slices.Contains(bits, n) {
				bits = append(bits, n)
			}
		}
		bounded = append(bounded, fmt.Sprintf("%s:%d %s()", c.file, c.line, c.name))
	}
	masks, why := sameBits(p, e.File)
	if why != "" {
		p.RefuseManual(e, why, "keep the running kernel's bit for each flag: "+step)
		return true
	}
	if !k.keep(p, e, cur, reverted) {
		return true
	}
	tag := strings.TrimPrefix(strings.TrimPrefix(structKind(e.Change)+" "+e.Change.Struct, "struct "), "union ")
	helpers := map[string]map[string]string{} // file -> op -> helper name
	for _, c := range calls {
		if helpers[c.file] == nil {
			helpers[c.file] = map[string]string{}
		}
		h, ok := helpers[c.file][c.name]
		if !ok {
			h = p.UniqueName(tag + "_" + e.Change.Member + "_" + strings.TrimLeft(c.name, "_"))
			if strings.HasPrefix(c.name, "__") {
				h = p.UniqueName("__" + tag + "_" + e.Change.Member + "_" + strings.TrimLeft(c.name, "_"))
			}
			helpers[c.file][c.name] = h
		}
		p.Edit(edit.Edit{File: c.file, Off: c.nameTok.Off, End: c.nameTok.End, Text: h, Why: "bit operation of the old width", Hazard: e.Hazard})
	}
	files := slices.Sorted(maps.Keys(helpers))
	for _, file := range files {
		pf := p.Parse(file)
		var b strings.Builder
		b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: bit operations on %s.%s.", gen.Banner, structKind(e.Change)+" "+e.Change.Struct, e.Change.Member)},
			gen.Wrap(fmt.Sprintf(gen.Generated+" Upstream makes the member an unsigned long for the kernel's bit operations; the running kernel's layout keeps it %s, and bit n stays BIT(n) of it, where the running kernel's masks put it. The atomic operations update it with try_cmpxchg().", from), 76)...)...))
		for i, op := range slices.Sorted(maps.Keys(helpers[file])) {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(bitHelper(helpers[file][op], op, from, width))
		}
		at := gen.InsertionPoint(pf)
		p.Edit(edit.Edit{File: file, Off: at, End: at, Text: gen.Styled(file, gen.InsertText(pf.Src, at, b.String())), Why: "bit operations of the old width", Hazard: e.Hazard})
	}
	slices.Sort(bits)
	p.Resolve(e, fmt.Sprintf("the old declaration (%s) stays; the %d bit operations on it in the patched code (%s) become ones of %d bits, atomic where upstream's are (try_cmpxchg); they name bits %s, below %d",
		from, len(calls), strings.Join(bounded, ", "), width, strings.Trim(fmt.Sprint(bits), "[]"), width))
	p.Note(rewrite.Finding{File: e.File, Line: e.Line, Subject: e.Subject,
		Reason: fmt.Sprintf("objects that exist when the livepatch loads keep their flags: bit n of the %s is BIT(n), as the running kernel's masks have it%s; code the livepatch does not replace keeps its plain updates of the %s, as in the running kernel", from, masks, from)})
	return true
}

// runningCode reports whether header h, as the rewritten patch leaves it
// (the member's old declaration back in its own header, whose text is
// reverted), is the running kernel's: its code is compiled as before.
func runningCode(p *rewrite.Pass, own string, reverted []byte, h string) bool {
	cur := p.File(h)
	if h == own {
		cur = reverted
	}
	return string(cur) == string(p.Original(h))
}

// unchangedFunc reports whether the function of file around off is, as
// the rewrite leaves it so far, the one of the base tree, word for word.
// origs keeps the base files parsed: the patch's own pre-images, or a
// parse of the base file for one a transform brought in.
func unchangedFunc(p *rewrite.Pass, origs map[string]*ast.File, file string, f *ast.File, off int) bool {
	fn := f.FuncAt(off)
	if fn == nil {
		return false
	}
	of, ok := origs[file]
	if !ok {
		if fc := p.ChangeOf(file); fc != nil {
			of = fc.Pre
		} else if orig := p.Original(file); orig != nil {
			of = ast.Parse(file, orig)
		}
		origs[file] = of
	}
	if of == nil {
		return false
	}
	ofn := of.Func(fn.Name)
	return ofn != nil && of.Text(ofn.Span) == f.Text(fn.Span)
}

// patchedUses finds every use of the member in the patched .c files (the
// code the livepatch replaces), with the old declaration in the header and
// the member renamed there: each use is a "has no member named" error.
// Code outside the patch keeps the old declaration and is not concerned.
func patchedUses(p *rewrite.Pass, e *rewrite.Entry, reverted []byte, old *ast.Member) ([]oracle.Use, string) {
	u, why := usesIn(p, e, reverted, old, p.CurrentSources())
	if why != "" {
		return nil, why
	}
	return u.uses, ""
}

// bitCallOf reads the call whose address argument the access is:
// "set_bit(nr, &obj->m)" (assign_bit's value comes third).
func bitCallOf(f *ast.File, a *cexpr.Access) (bitCall, string) {
	if a.Kind != cexpr.AddrOf || a.Chained != "" {
		return bitCall{}, fmt.Sprintf("uses it as a %s, not as the word of a bit operation", a.Kind)
	}
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, a.Full.Off)
	// the '&' before the object, then the argument's start
	k := i - 1
	for k >= 0 && toks[k].Text != "&" {
		if toks[k].Text == "," || toks[k].Text == "(" || toks[k].Text == ";" {
			break
		}
		k--
	}
	if k < 0 || toks[k].Text != "&" || k == 0 || toks[k-1].Text != "," {
		return bitCall{}, "takes its address other than as the second argument of a bit operation"
	}
	// back to the call's '(', counting arguments
	j, arg, ok := sites.EnclosingParen(toks, k, 0)
	if !ok {
		return bitCall{}, "takes its address outside a call"
	}
	if j == 0 || toks[j-1].Kind != ast.Ident {
		return bitCall{}, "takes its address inside parentheses that are not a call"
	}
	name := toks[j-1].Text
	if _, ok := bitOps[name]; !ok || arg != 1 {
		return bitCall{}, fmt.Sprintf("passes its address to %s() (argument %d), which is not a bit operation on its word", name, arg+1)
	}
	// the bit number: tokens from j+1 to the first top-level ','
	end := j + 1
	for d := 0; end < len(toks); end++ {
		t := toks[end].Text
		if t == "(" || t == "[" {
			d++
		} else if t == ")" || t == "]" {
			d--
		} else if t == "," && d == 0 {
			break
		}
	}
	nr := string(f.Src[toks[j+1].Off:toks[end-1].End])
	return bitCall{name: name, nameTok: toks[j-1], nr: strings.TrimSpace(nr), function: f.FuncAt(a.Full.Off)}, ""
}

// bitNumber returns the values a bit number argument can have: an integer
// constant, a macro of the file (or of the tree's headers the patch
// changes) that is one, or a parameter of fn when fn is a static inline
// function of the file and every call of it passes such a value (depth
// levels up).
func bitNumber(f *ast.File, fn *ast.Func, text string, depth int) ([]int, string) {
	if v, ok := constInt(f, text, 4); ok {
		return []int{v}, ""
	}
	if fn == nil || !ast.IsIdent(text) {
		return nil, "is not an integer constant kprewrite can read"
	}
	pos := paramIndex(f, fn, text)
	if pos < 0 {
		return nil, "is not an integer constant kprewrite can read"
	}
	if depth == 0 || !fn.Has("static") || !fn.IsInline() {
		return nil, fmt.Sprintf("is a parameter of %s(), which is not a static inline function whose callers kprewrite follows", fn.Name)
	}
	toks := sites.CodeTokens(f)
	var out []int
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].Text != fn.Name || toks[i+1].Text != "(" || toks[i].Off >= fn.Header.Off && toks[i].Off < fn.Body.End {
			continue
		}
		args := callArgs(f, toks, i+1)
		if pos >= len(args) {
			return nil, fmt.Sprintf("is a parameter of %s(), named at %s:%d other than in a call kprewrite reads", fn.Name, f.Name, f.Lines.Line(toks[i].Off))
		}
		v, why := bitNumber(f, f.FuncAt(toks[i].Off), args[pos], depth-1)
		if why != "" {
			return nil, fmt.Sprintf("comes from %s(), called at %s:%d with %s, which %s", fn.Name, f.Name, f.Lines.Line(toks[i].Off), args[pos], why)
		}
		out = append(out, v...)
	}
	// no call at all: gcc emits no code for an unused static inline
	// function (header2c copies the header's into each user), so the
	// operation never runs
	return out, ""
}

// callArgs returns the texts of the arguments of the call whose '(' is
// toks[open] (nil when unbalanced).
func callArgs(f *ast.File, toks []ast.Token, open int) []string {
	ranges, closeAt := sites.CallArgs(toks, open)
	if closeAt < 0 {
		return nil
	}
	args := make([]string, len(ranges))
	for k, r := range ranges {
		args[k] = strings.TrimSpace(string(f.Src[toks[r[0]].Off:toks[r[1]-1].End]))
	}
	return args
}

// paramIndex is the position of the parameter named name of fn, or -1.
func paramIndex(f *ast.File, fn *ast.Func, name string) int {
	return slices.Index(f.ParamNames(fn), name)
}

// constInt reads an integer constant: a literal, or an object-like macro
// of the file whose body is one (a few levels deep).
func constInt(f *ast.File, text string, depth int) (int, bool) {
	text = strings.TrimSpace(text)
	for strings.HasPrefix(text, "(") && strings.HasSuffix(text, ")") {
		text = strings.TrimSpace(text[1 : len(text)-1])
	}
	if v, err := strconv.ParseInt(strings.TrimRight(text, "uUlL"), 0, 64); err == nil {
		return int(v), true
	}
	if depth == 0 || !ast.IsIdent(text) {
		return 0, false
	}
	var found *ast.Macro
	for _, m := range f.Macros {
		if m.Name == text && !m.FuncLike && !m.Undef {
			if found != nil && found.Body != m.Body {
				return 0, false // defined twice, differently
			}
			found = m
		}
	}
	if found == nil {
		return 0, false
	}
	return constInt(f, found.Body, depth-1)
}

// maskBit reads a single-bit mask and returns its bit: BIT(n), BIT_ULL(n),
// (1 << n), (1U << n), (1UL << n), (1ULL << n), or a power of two.
func maskBit(body string) (int, bool) {
	b := strings.Join(strings.Fields(body), "")
	for strings.HasPrefix(b, "(") && strings.HasSuffix(b, ")") {
		b = b[1 : len(b)-1]
	}
	for _, pre := range []string{"BIT(", "BIT_ULL(", "BIT_U8(", "BIT_U16(", "BIT_U32("} {
		if strings.HasPrefix(b, pre) && strings.HasSuffix(b, ")") {
			n, err := strconv.Atoi(b[len(pre) : len(b)-1])
			return n, err == nil
		}
	}
	for _, pre := range []string{"1<<", "1U<<", "1UL<<", "1ULL<<", "1u<<", "1ul<<"} {
		if strings.HasPrefix(b, pre) {
			n, err := strconv.Atoi(strings.Trim(b[len(pre):], "()"))
			return n, err == nil
		}
	}
	if v, err := strconv.ParseUint(strings.TrimRight(b, "uUlL"), 0, 64); err == nil && v != 0 && v&(v-1) == 0 {
		n := 0
		for v > 1 {
			v >>= 1
			n++
		}
		return n, true
	}
	return 0, false
}

// sameBits checks the masks the patch turns into bit numbers in header:
// each macro whose old body is a single-bit mask and whose new body an
// integer must name the same bit. It returns the list for the report.
func sameBits(p *rewrite.Pass, header string) (string, string) {
	fc := p.ChangeOf(header)
	if fc == nil || fc.Pre == nil || fc.Post == nil {
		return "", ""
	}
	pre := map[string]*ast.Macro{}
	for _, m := range fc.Pre.Macros {
		if !m.FuncLike && !m.Undef {
			pre[m.Name] = m
		}
	}
	var same []string
	for _, m := range fc.Post.Macros {
		o := pre[m.Name]
		if o == nil || m.FuncLike || o.Body == m.Body {
			continue
		}
		bit, isMask := maskBit(o.Body)
		n, isInt := constInt(fc.Post, m.Body, 0)
		if !isMask || !isInt {
			continue
		}
		if bit != n {
			return "", fmt.Sprintf("%s was %s (bit %d) and becomes bit %d: the flag moves, and objects that exist when the livepatch loads hold it in bit %d", m.Name, o.Body, bit, n, bit)
		}
		same = append(same, fmt.Sprintf("%s (%s -> %s)", m.Name, o.Body, m.Body))
	}
	if len(same) == 0 {
		return "", ""
	}
	return " (checked for the masks the patch turns into bit numbers: " + strings.Join(same, ", ") + ")", ""
}

// bitHelper renders the helper that does bit operation op on a word of
// the old type.
func bitHelper(name, op, typ string, width int) string {
	info := bitOps[op]
	var b strings.Builder
	ret := "void"
	if info.tests {
		ret = "bool"
	}
	params := "unsigned int nr, " + typ + " *p"
	if info.op == "test" {
		params = "unsigned int nr, const " + typ + " *p"
	}
	if info.op == "assign" {
		params += ", bool value"
	}
	fmt.Fprintf(&b, "static __always_inline %s %s(%s)\n{\n", ret, name, params)
	check := fmt.Sprintf("\tBUILD_BUG_ON(__builtin_constant_p(nr) && nr >= %d);\n", width)
	newVal := map[string]string{"set": "old | BIT(nr)", "clear": "old & ~BIT(nr)", "change": "old ^ BIT(nr)",
		"assign": "value ? old | BIT(nr) : old & ~BIT(nr)"}[info.op]
	switch {
	case info.op == "test":
		fmt.Fprintf(&b, "%s\treturn (READ_ONCE(*p) >> nr) & 1;\n}\n", check)
	case info.atomic:
		fmt.Fprintf(&b, "\t%s old = READ_ONCE(*p), new;\n\n%s\tdo {\n\t\tnew = %s;\n\t} while (!try_cmpxchg(p, &old, new));\n", typ, check, newVal)
		if info.tests {
			b.WriteString("\treturn (old >> nr) & 1;\n")
		}
		b.WriteString("}\n")
	default:
		fmt.Fprintf(&b, "\t%s old = *p;\n\n%s\t*p = %s;\n", typ, check, newVal)
		if info.tests {
			b.WriteString("\treturn (old >> nr) & 1;\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}
