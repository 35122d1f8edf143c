package shadow

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A shadow variable belongs to an address, not to a value: "*dst = *src"
// copies every member of the struct but none of src's shadows, and an
// object on the stack leaves its shadow behind for the next object the
// same stack slot holds. Both would give objects created after the
// livepatch a member value upstream never gives them, so a struct copy
// carries its shadow explicitly, and a struct that lives on the stack is
// refused.

// copySite is a by-value copy of the struct, "dst = src;" or
// "dst = kmemdup(src, ...);": the shadow is copied after the statement. A
// compound literal assigned to the object ("*dst = (struct s){ ... };")
// has no source: it zeroes what it does not name, so the shadow is
// dropped, unless the literal names the member (its store follows).
type copySite struct {
	file     string
	line     int
	fn       string
	dst, src string // pointer expressions; src "" for a compound literal
	end      int    // where the copy goes: after the statement's ';'
	guard    bool   // dst may be NULL (an allocation): test it first
	decl     bool   // end is after a block's declarations: a blank line first
}

// lifecycleSites reads the creation sites of m's struct for what a shadow
// cannot follow on its own: it returns the copies to carry the shadow
// through, or why the member cannot live in a shadow. When the only
// reason is objects on the stack, which would leave their shadows behind,
// stacks lists them (stack.go frees their shadows as they go out of
// scope).
func lifecycleSites(p *rewrite.Pass, header, tag, member string) (copies []copySite, why string, stacks []*sites.Site) {
	res, err := sites.Find(p, header, tag)
	if err != nil {
		return nil, "", nil // CreationValue says what is unknown
	}
	var bad []string
	copied := map[string]bool{} // file:line of byte copies, found type-exactly
	if r, err := sites.FreeSites.Get(p, sites.Struct{Header: header, Tag: tag}); err == nil {
		for _, c := range r.Copies {
			copied[fmt.Sprintf("%s:%d", c.File, c.Line)] = true
			cs, why := dupStatement(p.Parse(c.File), c)
			if why != "" {
				bad = append(bad, fmt.Sprintf("%s:%d in %s copies a struct %s with %s() (%s): the copy would not carry the shadow", c.File, c.Line, c.Fn, tag, c.Call, why))
				continue
			}
			copies = append(copies, cs)
		}
	}
	if rs, err := sites.Resets(p, header, tag); err == nil {
		for _, r := range rs {
			bad = append(bad, fmt.Sprintf("%s clears a struct %s with memset: upstream that clears the member too, while its shadow would keep the value", r, tag))
		}
	}
	for _, st := range res.Sites {
		switch {
		case st.Kind == sites.Stack:
			stacks = append(stacks, st)
			bad = append(bad, fmt.Sprintf("%s:%d in %s holds a struct %s on the stack: a shadow attached to it outlives it and would be read by the next object in the same stack slot", st.File, st.Line, st.Fn, tag))
		case st.Kind == sites.Size && copyCallRE.MatchString(st.Call) && !copied[fmt.Sprintf("%s:%d", st.File, st.Line)]:
			bad = append(bad, fmt.Sprintf("%s:%d in %s duplicates a struct %s with %s(): the copy would not carry the shadow", st.File, st.Line, st.Fn, tag, st.Call))
		case st.Kind == sites.Copy && st.Fn != "":
			f := p.Parse(st.File)
			off := sites.Locate(f, st)
			if off < 0 {
				bad = append(bad, fmt.Sprintf("%s:%d in %s uses struct %s as a value, and kprewrite cannot find that statement again in the current text: the copy would not carry the shadow", st.File, st.Line, st.Fn, tag))
				continue
			}
			c, why := copyStatement(f, off, member)
			if why == "named" {
				continue // the literal names the member: its store follows
			}
			if why != "" {
				bad = append(bad, fmt.Sprintf("%s:%d in %s uses struct %s as a value (%s): the copy would not carry the shadow", st.File, st.Line, st.Fn, tag, why))
				continue
			}
			c.file, c.line, c.fn = st.File, st.Line, st.Fn
			dup := false
			for _, o := range copies {
				dup = dup || o.file == c.file && o.end == c.end
			}
			if !dup {
				copies = append(copies, c)
			}
		}
	}
	if len(bad) > 0 {
		if len(stacks) < len(bad) {
			stacks = nil
		}
		return copies, strings.Join(bad, "; "), stacks
	}
	return copies, "", nil
}

// copyStatement reads the statement around off as "dst = src;" with both
// sides expressions that can be evaluated again (no call, no side effect),
// or "dst = (struct s){ ... };" (why "named" when the literal names
// member).
func copyStatement(f *ast.File, off int, member string) (copySite, string) {
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, off)
	start, end := sites.StatementBounds(toks, i)
	if end >= len(toks) || start >= end {
		return copySite{}, "not a statement"
	}
	eq, depth := -1, 0
	for k := start; k < end; k++ {
		switch toks[k].Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case "=":
			if depth == 0 {
				if eq >= 0 {
					return copySite{}, "a chained assignment"
				}
				eq = k
			}
		}
	}
	if eq <= start || eq+1 >= end {
		return copySite{}, "not an assignment statement (a by-value argument, return, comparison or initializer)"
	}
	lhs, rhs := toks[start:eq], toks[eq+1:end]
	if declStartRE.MatchString(lhs[0].Text) || lhs[0].Text == "return" {
		return copySite{}, "a declaration or return"
	}
	for _, t := range lhs {
		if stmtStartRE.MatchString(t.Text) || t.Text == ":" {
			// "if (c) *dst = *src;": the copy would run whether or not
			// the statement did
			return copySite{}, "the statement of an if, else, loop or label without braces"
		}
	}
	if !cexpr.Pure(lhs) {
		return copySite{}, "the object assigned to is an expression with a side effect"
	}
	if rhs[0].Text == "(" && len(rhs) > 1 && rhs[1].Text == "struct" {
		// a compound literal: "(struct s){ .a = x, ... }"
		close := ast.MatchForward(rhs, 0)
		if close < 0 || close+1 >= len(rhs) || rhs[close+1].Text != "{" || ast.MatchForward(rhs, close+1) != len(rhs)-1 {
			return copySite{}, "a compound literal kprewrite cannot read"
		}
		if sites.Designates(rhs, close+1, member) {
			return copySite{}, "named"
		}
		return copySite{dst: pointerTo(f, lhs), end: toks[end].End}, ""
	}
	if !cexpr.Pure(rhs) {
		return copySite{}, "the copied value calls a function or has a side effect"
	}
	return copySite{dst: pointerTo(f, lhs), src: pointerTo(f, rhs), end: toks[end].End}, ""
}

// dupStatement reads a byte copy the free search found: "v = kmemdup(src,
// ...);" or "struct s *v = kmemdup(src, ...);" (the copy goes after the
// declarations, guarded by v); memcpy and memmove are not followed.
func dupStatement(f *ast.File, c *sites.Free) (copySite, string) {
	if c.Call != "kmemdup" {
		return copySite{}, "kprewrite follows kmemdup only"
	}
	toks := sites.CodeTokens(f)
	ls, le := f.Lines.Start(c.Line), f.Lines.Start(c.Line+1)
	for i, t := range toks {
		if t.Off < ls || t.Off >= le || t.Text != "kmemdup" || i+1 >= len(toks) || toks[i+1].Text != "(" {
			continue
		}
		// "v =" right before the call
		if i < 3 || toks[i-1].Text != "=" || toks[i-2].Kind != ast.Ident {
			return copySite{}, "its result is not assigned to a variable"
		}
		if p := toks[i-3].Text; p == "->" || p == "." || p == "]" || p == ")" {
			return copySite{}, "its result is stored in a member or an element, not a variable"
		}
		if p := toks[i-3]; p.Text != ";" && p.Text != "{" && p.Text != "}" && p.Text != "*" && !(p.Kind == ast.Ident && !stmtStartRE.MatchString(p.Text)) {
			return copySite{}, "the statement of an if, else, loop or label without braces"
		}
		if stmtStartRE.MatchString(toks[i-3].Text) {
			return copySite{}, "the statement of an if, else, loop or label without braces"
		}
		v := toks[i-2].Text
		close := ast.MatchForward(toks, i+1)
		if close < 0 || close+1 >= len(toks) || toks[close+1].Text != ";" {
			return copySite{}, "not a whole statement"
		}
		var src []ast.Token
		for k := i + 2; k < close && toks[k].Text != ","; k++ {
			src = append(src, toks[k])
		}
		if len(src) == 0 || !cexpr.Pure(src) {
			return copySite{}, "its source is an expression with a side effect"
		}
		end, decl := toks[close+1].End, false
		if k := i - 3; k >= 0 && (toks[k].Text == "*" || toks[k].Kind == ast.Ident) && declStartRE.MatchString(toks[max(k-2, 0)].Text) {
			// a declaration's initializer: the copy goes after the
			// declarations, unless one of them uses the copy already
			after := afterDeclarations(f, end)
			if usesName(toks, close+2, sites.TokenAt(toks, after), v) {
				return copySite{}, "a later declaration uses the copy before kprewrite could copy the shadow"
			}
			end, decl = after, true
		}
		return copySite{file: c.File, line: c.Line, fn: c.Fn, dst: v, src: string(f.Src[src[0].Off:src[len(src)-1].End]), end: end, guard: true, decl: decl}, ""
	}
	return copySite{}, "kprewrite cannot find the call on its line"
}

// copyCallRE are the calls that copy an object's bytes.
var copyCallRE = regexp.MustCompile(`^(memcpy|memmove|kmemdup|kmemdup_array|devm_kmemdup|kvmemdup|__builtin_memcpy|unsafe_memcpy)$`)

// declStartRE are the words a declaration (or a cast) starts with.
var declStartRE = regexp.MustCompile(`^(struct|union|enum|const|volatile|static|unsigned|signed|char|short|int|long|bool|void)$`)

// pointerTo returns a pointer expression for the lvalue toks.
func pointerTo(f *ast.File, toks []ast.Token) string {
	text := string(f.Src[toks[0].Off:toks[len(toks)-1].End])
	if toks[0].Text == "*" && len(toks) > 1 {
		rest := toks[1:]
		if len(rest) == 1 || rest[0].Text == "(" && ast.MatchBack(rest, len(rest)-1) == 0 {
			return string(f.Src[rest[0].Off:rest[len(rest)-1].End])
		}
		return "(" + string(f.Src[rest[0].Off:rest[len(rest)-1].End]) + ")"
	}
	return cexpr.AddressOf(text, false)
}

// usesName reports whether toks[from:to] name the identifier name.
func usesName(toks []ast.Token, from, to int, name string) bool {
	for k := from; k < to && k < len(toks); k++ {
		if toks[k].Kind == ast.Ident && toks[k].Text == name {
			return true
		}
	}
	return false
}

// copyCode renders the function that copies the shadow of pl's member from
// one object to another: the source's value, or none (the destination then
// reads the default, computed as for the source).
func copyCode(pl *plan) string {
	m := pl.m
	vp := pl.typ + " *"
	if strings.HasSuffix(pl.typ, "*") {
		vp = pl.typ + "*"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nstatic inline void %s(%s *dst, const %s *src, gfp_t gfp)\n{\n", pl.copier, m.Key, m.Key)
	fmt.Fprintf(&b, "\t%sv = klp_shadow_get((void *)src, %s);\n\n", vp, pl.idMacro)
	fmt.Fprintf(&b, "\tif (v)\n\t\t%s(dst, *v, gfp);\n\telse\n\t\tklp_shadow_free(dst, %s, NULL);\n}\n", m.Setter, pl.idMacro)
	return b.String()
}

// copyCall renders the statement a copy site gets for pl, indented.
func copyCall(pl *plan, c copySite, indent, gfp string) string {
	var call string
	if c.src == "" {
		call = fmt.Sprintf("klp_shadow_free(%s, %s, NULL);", c.dst, pl.idMacro)
	} else {
		call = fmt.Sprintf("%s(%s, %s, %s);", pl.copier, c.dst, c.src, gfp)
	}
	blank := ""
	if c.decl {
		blank = "\n"
	}
	if c.guard {
		return fmt.Sprintf("%s\n%sif (%s)\n%s\t%s", blank, indent, c.dst, indent, call)
	}
	return blank + "\n" + indent + call
}
