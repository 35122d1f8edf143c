package sites

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Use is one access of a member the compiler found, in the current text
// of a file.
type Use struct {
	File   string
	Access *cexpr.Access
}

// Replaced derives what objects created before a livepatch should read in
// a new member from what the fix replaces by it. Where upstream reads
// "obj->m" in place of an expression the running kernel's code read at the
// same place (the same tokens around it, in the same hunk), that
// expression is what the running kernel uses for the object there: a
// constant ("r->field[0]" becoming "r->field[d->idx]"), or an expression
// over the object's own fields ("F2FS_I_SB(dic->inode)" becoming
// "dic->sbi"). Objects created before the load then read it, computed
// from the object when it is read, and behave at each such place as the
// running kernel's code did. Every pairing found must name the same
// expression; a pairing inside the arguments of a function whose
// parameters the fix changes is not a replacement of the value (the
// callee takes something else now) and is skipped.
//
// reads are the member's reads whose value matters (the compiler's uses
// that no write precedes). The result is not Known when no read pairs
// with an expression (Evidence empty: the reads are new code), when the
// pairings disagree, or when one pairs with an expression that cannot be
// computed from the object (Evidence says why).
func Replaced(p *rewrite.Pass, header, member string, reads []Use) Value {
	type pairing struct {
		expr  string
		where string
	}
	var pairs []pairing
	var why, others []string
	for _, u := range reads {
		e, where, reason := replacedAt(p, header, member, u)
		switch {
		case reason != "":
			why = append(why, reason)
		case e != "":
			pairs = append(pairs, pairing{e, where})
		default:
			if w := fmt.Sprintf("%s:%d", u.File, u.Access.Line); !slices.Contains(others, w) {
				others = append(others, w)
			}
		}
	}
	if len(why) > 0 {
		return Value{Evidence: "upstream reads it where the running kernel's code read what kprewrite cannot compute from the object: " + strings.Join(why, "; ")}
	}
	if len(pairs) == 0 {
		// new reads only: nothing to say beyond the creation's evidence
		return Value{}
	}
	var places []string
	for _, pr := range pairs {
		if pr.expr != pairs[0].expr {
			return Value{Evidence: fmt.Sprintf("upstream reads it in place of different expressions: %s at %s, %s at %s", pairs[0].expr, pairs[0].where, pr.expr, pr.where)}
		}
		if !slices.Contains(places, pr.where) {
			places = append(places, pr.where)
		}
	}
	return Value{Expr: pairs[0].expr, Replaced: places, Unpaired: others,
		Evidence: fmt.Sprintf("upstream reads ->%s where the running kernel's code read %s (%s)", member, pairs[0].expr, strings.Join(places, ", "))}
}

// replacedAt finds the expression the read u replaces: the expression
// over "s" and the place, "" when the read is new code with no old
// counterpart, or a reason when the old counterpart cannot be computed
// from the object.
func replacedAt(p *rewrite.Pass, header, member string, u Use) (expr, where, reason string) {
	a := u.Access
	f := p.Parse(u.File)
	toks := CodeTokens(f)
	i0, i1 := tokenAt(toks, a.Object.Off), tokenAt(toks, a.Member.Off)+1
	if a.InMacro || i1 > len(toks) || i1-i0 < 3 || (toks[i1-2].Text != "->" && toks[i1-2].Text != ".") {
		// not "object->member" in the function's own text
		return "", "", ""
	}
	if a.Kind != cexpr.Read && !(a.Kind == cexpr.AddrOf && a.Chained != "") {
		return "", "", ""
	}
	acc := texts(toks[i0:i1])
	before := texts(toks[max(0, i0-4):i0])
	after := texts(toks[i1:min(len(toks), i1+4)])
	obj := texts(toks[i0 : i1-2])
	// the line of the read in the upstream text, when no other transform
	// edited the file before this one asked
	line := 0
	if up, ok := p.Upstream[u.File]; ok && string(up) == string(f.Src) {
		line = a.Line
	}
	// the one place in the patch's hunks with the read's tokens around it
	var hunk *patch.Hunk
	var nt []string // the new side of hunk
	j := -1
	for _, pf := range p.Patch.Files {
		if pf.Path() != u.File {
			continue
		}
		for _, h := range pf.Hunks {
			toks, changed, lines := side(h, patch.Delete)
			ts := texts(toks)
			for _, k := range findAll(ts, acc, before, after) {
				if !changed[k] || (line != 0 && lines[k] != line) {
					continue
				}
				if hunk != nil {
					return "", "", "" // ambiguous: no pairing
				}
				hunk, nt, j = h, ts, k
			}
		}
	}
	if hunk == nil {
		return "", "", ""
	}
	ot, och, _ := side(hunk, patch.Insert)
	old, ok := counterpart(ot, och, nt, j, j+len(acc))
	if !ok {
		return "", "", ""
	}
	where = fmt.Sprintf("%s:%d", u.File, a.Line)
	if callee := calleeOf(nt, j); callee != "" && paramsChange(p, u.File, callee) {
		// page_array_alloc(dic->inode, ...) becoming
		// page_array_alloc(dic->sbi, ...): the callee changes
		return "", "", ""
	}
	e, why := overObject(p, u.File, header, old, obj)
	if why != "" {
		return "", "", fmt.Sprintf("at %s the running kernel read %s, and %s", where, ast.JoinTokens(old), why)
	}
	return e, where, ""
}

func texts(toks []ast.Token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

// side returns the code tokens of one side of a hunk (the lines that are
// not "skip": patch.Delete for the new side, patch.Insert for the old),
// whether each is on a changed line, and its line in that side's file.
func side(h *patch.Hunk, skip patch.Op) ([]ast.Token, []bool, []int) {
	var b strings.Builder
	var starts, lines []int
	var changed []bool
	n := h.NewStart
	if skip == patch.Insert {
		n = h.OldStart
	}
	for _, l := range h.Lines {
		if l.Op == skip {
			continue
		}
		starts = append(starts, b.Len())
		changed = append(changed, l.Op != patch.Context)
		lines = append(lines, n)
		n++
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	var toks []ast.Token
	var flags []bool
	var at []int
	for _, t := range ast.Tokenize([]byte(b.String())) {
		if t.Kind == ast.Comment || t.Kind == ast.Directive {
			continue
		}
		i := sort.SearchInts(starts, t.Off+1) - 1
		toks = append(toks, t)
		flags = append(flags, changed[i])
		at = append(at, lines[i])
	}
	return toks, flags, at
}

// codeOf returns the code tokens of a text.
func codeOf(text string) []string {
	var out []string
	for _, t := range ast.Tokenize([]byte(text)) {
		if t.Kind != ast.Comment && t.Kind != ast.Directive {
			out = append(out, t.Text)
		}
	}
	return out
}

// findAll returns where acc occurs in toks with the same neighbours (as
// many as toks has).
func findAll(toks, acc, before, after []string) []int {
	var at []int
	for j := 0; j+len(acc) <= len(toks); j++ {
		if !slices.Equal(toks[j:j+len(acc)], acc) {
			continue
		}
		b := before[max(0, len(before)-j):]
		e := after[:min(len(after), len(toks)-j-len(acc))]
		if slices.Equal(toks[j-len(b):j], b) && slices.Equal(toks[j+len(acc):j+len(acc)+len(e)], e) {
			at = append(at, j)
		}
	}
	return at
}

// counterpart finds the old tokens the new tokens nt[j:k] replace: the
// place in old with the most of the same tokens around it (two at least
// before it, one after it, five in all), the old expression between them
// short, balanced, a single expression, and on lines the fix removes
// (changed). Two places with as much context but different expressions,
// or an old expression the new side still reads next to the new read,
// are no pairing.
func counterpart(oldToks []ast.Token, changed []bool, nt []string, j, k int) ([]ast.Token, bool) {
	old := texts(oldToks)
	var best []ast.Token
	bestCtx, tie := 0, false
	for q := 0; q < len(old); q++ {
		l := 0
		for l < 8 && j-l-1 >= 0 && q-l-1 >= 0 && old[q-l-1] == nt[j-l-1] {
			l++
		}
		if l < 2 {
			continue
		}
		for r := q + 1; r <= min(len(old), q+16); r++ {
			if !changed[r-1] {
				break
			}
			n := 0
			for n < 8 && r+n < len(old) && k+n < len(nt) && old[r+n] == nt[k+n] {
				n++
			}
			if n == 0 || !expression(old[q:r]) {
				continue
			}
			switch {
			case l+n < 5:
			case l+n > bestCtx:
				best, bestCtx, tie = oldToks[q:r], l+n, false
			case l+n == bestCtx && !slices.Equal(texts(best), old[q:r]):
				tie = true
			}
			break
		}
	}
	if best == nil || tie {
		return nil, false
	}
	// "a->x + b" becoming "a->m + a->x + b" adds a read; it replaces
	// nothing: the new statement must not read the old expression too
	e := texts(best)
	lo, hi := j, k
	for lo > 0 && nt[lo-1] != ";" && nt[lo-1] != "{" && nt[lo-1] != "}" {
		lo--
	}
	for hi < len(nt) && nt[hi] != ";" {
		hi++
	}
	for s := lo; s+len(e) <= hi; s++ {
		if slices.Equal(nt[s:s+len(e)], e) {
			return nil, false
		}
	}
	return best, true
}

// expression reports whether toks is one balanced expression: no
// statement or declaration punctuation, no assignment, no top-level comma.
func expression(toks []string) bool {
	depth := 0
	for _, t := range toks {
		switch t {
		case "(", "[":
			depth++
		case ")", "]":
			if depth--; depth < 0 {
				return false
			}
		case ";", "{", "}", "=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "<<=", ">>=", "++", "--", "?", ":":
			return false
		case ",":
			if depth == 0 {
				return false
			}
		}
	}
	return depth == 0
}

// calleeOf names the function whose argument list holds toks[j], or "".
func calleeOf(toks []string, j int) string {
	depth := 0
	for k := j - 1; k >= 0; k-- {
		switch toks[k] {
		case ")", "]":
			depth++
		case "[":
			if depth == 0 {
				return "" // an index, not an argument list
			}
			depth--
		case "(":
			if depth > 0 {
				depth--
				continue
			}
			if k > 0 && ast.IsIdent(toks[k-1]) {
				return toks[k-1]
			}
			return ""
		case ";", "{", "}":
			return ""
		}
	}
	return ""
}

// paramsChange reports whether the fix changes the parameters of the
// function name defined in file.
func paramsChange(p *rewrite.Pass, file, name string) bool {
	o, n := ast.Parse(file, p.Original(file)), ast.Parse(file, p.Upstream[file])
	oldFn, newFn := o.Func(name), n.Func(name)
	if oldFn == nil || newFn == nil {
		return (oldFn == nil) != (newFn == nil)
	}
	return o.Normalized(oldFn.Header) != n.Normalized(newFn.Header)
}

// overObject writes an old expression over the object "s": obj (the
// object expression of the new read) becomes s; what else it reads must
// be the object's fields, constants, and functions that only read
// (static inline functions of the file, the struct's header or the
// file's own headers whose body returns an expression without side
// effects, recursively, or the known pure ones).
func overObject(p *rewrite.Pass, file, header string, oldToks []ast.Token, obj []string) (string, string) {
	old := texts(oldToks)
	var b strings.Builder
	for i := 0; i < len(old); i++ {
		t := old[i]
		prev, next := "", ""
		if i > 0 {
			prev = old[i-1]
		}
		if i+1 < len(old) {
			next = old[i+1]
		}
		text := t
		first := i
		switch {
		case i+len(obj) < len(old) && slices.Equal(old[i:i+len(obj)], obj) && (old[i+len(obj)] == "->" || old[i+len(obj)] == ".") && prev != "->" && prev != ".":
			text = "s"
			if old[i+len(obj)] == "." {
				text = "(*s)"
			}
			i += len(obj) - 1
		case !ast.IsIdent(t):
			if strings.ContainsAny(t[:1], "\"'") {
				return "", "it reads a string or character literal"
			}
		case next == "(" && (prev == "->" || prev == "."):
			return "", fmt.Sprintf("it calls the function pointer %s", t)
		case next == "(":
			if !pureRE.MatchString(t) && !readsOnly(p, file, header, t, 3) {
				return "", fmt.Sprintf("it calls %s(), which kprewrite does not know to only read", t)
			}
		case prev == "->" || prev == ".":
			// a field name
		case typeWordRE.MatchString(t) || prev == "struct" || prev == "union" || prev == "enum":
		case isConstant(t):
		default:
			return "", fmt.Sprintf("it reads %s, which is not the object, one of its fields or a constant", t)
		}
		if b.Len() > 0 && needsSpace(oldToks[first-1], oldToks[first]) {
			b.WriteByte(' ')
		}
		b.WriteString(text)
	}
	return b.String(), ""
}

// readsOnly reports whether name is a function (or function-like macro)
// of file, of header or of a header file includes with quotes, whose body
// only reads: "{ return EXPR; }" where EXPR assigns nothing and calls only
// such functions (depth levels deep), container_of, or the pure ones.
func readsOnly(p *rewrite.Pass, file, header, name string, depth int) bool {
	if depth == 0 {
		return false
	}
	if name == "container_of" || name == "READ_ONCE" {
		return true
	}
	for _, src := range searchFiles(p, file, header) {
		f := p.Parse(src)
		if fn := f.Func(name); fn != nil && fn.IsInline() {
			toks := texts(f.CodeTokens(fn.Body))
			if len(toks) < 4 || toks[1] != "return" || toks[len(toks)-2] != ";" {
				return false
			}
			return onlyReads(p, file, header, toks[2:len(toks)-2], depth)
		}
		if mac := f.Macro(name); mac != nil {
			return onlyReads(p, file, header, codeOf(mac.Body), depth)
		}
	}
	return false
}

func onlyReads(p *rewrite.Pass, file, header string, toks []string, depth int) bool {
	for i, t := range toks {
		switch t {
		case "=", "+=", "-=", "*=", "/=", "|=", "&=", "^=", "<<=", ">>=", "%=", "++", "--", ";", "{":
			return false
		}
		if ast.IsIdent(t) && i+1 < len(toks) && toks[i+1] == "(" && !typeWordRE.MatchString(t) && t != "sizeof" && t != "typeof" && t != "__typeof__" {
			if !pureRE.MatchString(t) && !readsOnly(p, file, header, t, depth-1) {
				return false
			}
		}
	}
	return true
}

// searchFiles are the files readsOnly looks for definitions in.
func searchFiles(p *rewrite.Pass, file, header string) []string {
	out := []string{file, header}
	for _, t := range p.Parse(file).Tokens {
		if t.Kind != ast.Directive {
			continue
		}
		name, rest := ast.DirectiveName(t)
		rest = strings.TrimSpace(rest)
		if name != "include" || !strings.HasPrefix(rest, `"`) {
			continue
		}
		inc := strings.Trim(strings.Fields(rest)[0], `"`)
		if h := path.Join(path.Dir(file), inc); !slices.Contains(out, h) && p.File(h) != nil {
			out = append(out, h)
		}
	}
	return out
}
