package shadow

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A struct on the stack leaves its shadow behind when its function
// returns, for the next object in the same stack slot to find (and for
// nobody to free: every task's stack slots, over the kernel's uptime). The
// shadow goes with the object instead: right after its declaration, a
// pointer to it is declared with the kernel's __cleanup attribute, whose
// function frees the object's shadow whenever the scope ends (a return, a
// goto out of the block, the closing brace), as <linux/cleanup.h>'s
// __free() does:
//
//	struct ringreq req;
//	struct ringreq *req_tries_shadow __cleanup(ringreq_free_tries_shadow) = &req;
//
// The object cannot outlive its scope, so neither can its shadow.

// stackObject is a struct on the stack whose shadow goes with its scope.
type stackObject struct {
	site  *sites.Site
	guard string // the pointer declared with __cleanup
}

// stackPlan checks that every stack object can get its guard: a plain
// declaration ("struct tag name;", "struct tag name = init;") in a file
// that holds the member's uses (where the accessors and the cleanup
// function go). It records them in pl.stacks and renders the cleanup
// function into the member's code, or says why not.
func stackPlan(p *rewrite.Pass, pl *plan, stacks []*sites.Site) string {
	m := pl.m
	tag := member.TagOf(m.Key)
	var objs []*stackObject
	for _, st := range stacks {
		where := fmt.Sprintf("%s:%d in %s", st.File, st.Line, st.Fn)
		if !slices.Contains(pl.useFiles, st.File) {
			return where + " holds one on the stack, in a file with no use of the member (where the function that frees its shadow would go)"
		}
		if _, why := declaration(p.Parse(st.File), st, m.Key); why != "" {
			return where + ": " + why
		}
		objs = append(objs, &stackObject{site: st, guard: p.UniqueName(st.Name + "_" + m.Name + "_shadow")})
	}
	if pl.dropper == "" {
		pl.dropper = p.UniqueName(tag + "_free_" + m.Name + "_shadow")
		m.Code += fmt.Sprintf("\n/* frees the shadow of a %s on the stack as it goes out of scope */\nstatic inline void %s(%s **s)\n{\n\tif (klp_shadow_get(*s, %s))\n\t\tklp_shadow_free(*s, %s, %s);\n}\n",
			m.Key, pl.dropper, m.Key, pl.idMacro, pl.idMacro, pl.dtorName())
	}
	pl.stacks = objs
	return ""
}

// declaration finds the declaration of a stack site in f's current text:
// the offset after its ';', or why it is not a plain one.
func declaration(f *ast.File, st *sites.Site, key string) (int, string) {
	off := sites.Locate(f, st)
	if off < 0 {
		return 0, "kprewrite cannot find its declaration again"
	}
	toks := sites.CodeTokens(f)
	start, end := sites.StatementBounds(toks, sites.TokenAt(toks, off))
	if end >= len(toks) {
		return 0, "kprewrite cannot find its declaration again"
	}
	decl := toks[start:end]
	kw := strings.Fields(key)
	if len(decl) < 3 || decl[0].Text != kw[0] || decl[1].Text != kw[1] || decl[2].Text != st.Name {
		return 0, "not a plain declaration of one " + key + " (qualifiers, an array, a static local)"
	}
	if len(decl) > 3 {
		if decl[3].Text != "=" {
			return 0, "not a plain declaration of one " + key + " (an array, an attribute)"
		}
		if len(ast.SplitTop(decl[4:])) != 1 {
			return 0, "it declares more than one variable"
		}
	}
	if why := guardable(f, toks, start); why != "" {
		return 0, why
	}
	return toks[end].End, ""
}

// guardable says why a guard declared after the declaration starting at
// toks[start] could be skipped, or "": a jump past a declaration with
// __cleanup into its scope leaves the pointer uninitialised, and gcc
// compiles it without a word. The declaration must be one of the leading
// declarations of its block (no statement before it), and a block other
// than the function's body must hold no label, case or default (a goto
// or a switch from outside could enter it past the guard).
func guardable(f *ast.File, toks []ast.Token, start int) string {
	open := -1
	depth := 0
	for k := start - 1; k >= 0; k-- {
		switch toks[k].Text {
		case "}":
			depth++
		case "{":
			if depth == 0 {
				open = k
			}
			depth--
		}
		if open >= 0 {
			break
		}
	}
	if open < 0 {
		return "kprewrite cannot find the block that holds it"
	}
	for i := open + 1; i < start; {
		if toks[i].Text == "{" {
			return "a statement comes before it in its block, so a jump could pass its guard"
		}
		end := statementEnd(toks, i)
		if end < 0 || !declStatement(toks[i:end]) {
			return "a statement comes before it in its block, so a jump could pass its guard"
		}
		i = end + 1
	}
	closeAt := ast.MatchForward(toks, open)
	if closeAt < 0 {
		return "kprewrite cannot find the end of its block"
	}
	if fn := f.FuncAt(toks[open].Off); fn != nil && toks[open].Off == fn.Body.Off {
		return ""
	}
	for k := open + 1; k < closeAt; k++ {
		t := toks[k]
		if t.Text == "case" || t.Text == "default" || t.Kind == ast.Ident && k+1 < closeAt && toks[k+1].Text == ":" && (toks[k-1].Text == ";" || toks[k-1].Text == "{" || toks[k-1].Text == "}") {
			return "its block holds a label or a case, which a jump from outside could enter past its guard"
		}
	}
	return ""
}

// declStatement reports whether a statement's tokens declare variables
// ("struct x *p = q;", "int n;"), not compute.
func declStatement(stmt []ast.Token) bool {
	if len(stmt) < 2 || stmt[0].Kind != ast.Ident || notType[stmt[0].Text] {
		return false
	}
	switch stmt[0].Text {
	case "if", "for", "while", "switch", "break", "continue":
		return false
	}
	return stmt[1].Kind == ast.Ident || stmt[1].Text == "*"
}

// stackFrees adds the guards of the plans' stack objects.
func stackFrees(p *rewrite.Pass, pls []*plan) []lifeNote {
	var out []lifeNote
	for _, pl := range pls {
		for _, so := range pl.stacks {
			st := so.site
			f := p.Parse(st.File)
			at, why := declaration(f, st, pl.m.Key)
			if why != "" {
				out = append(out, work(fmt.Sprintf("%s:%d in %s holds a %s on the stack (%s): its shadow is not freed as it goes out of scope", st.File, st.Line, st.Fn, pl.m.Key, why)))
				continue
			}
			attr := "__cleanup(" + pl.dropper + ")"
			if !bytes.Contains(p.File("include/linux/compiler_attributes.h"), []byte("define __cleanup(")) {
				attr = "__attribute__((__cleanup__(" + pl.dropper + ")))"
			}
			in := indentAt(f.Src, at-1)
			text := fmt.Sprintf("\n%s%s *%s %s = &%s;", in, pl.m.Key, so.guard, attr, st.Name)
			if len(text)-1+7*strings.Count(in, "\t") > 100 {
				text = fmt.Sprintf("\n%s%s *%s\n%s\t%s = &%s;", in, pl.m.Key, so.guard, in, attr, st.Name)
			}
			p.Edit(edit.Edit{File: st.File, Off: at, End: at, Text: text, Why: "free the stack object's shadow with its scope", Hazard: only(pls)})
			out = append(out, fact(fmt.Sprintf("the %s on the stack at %s:%d in %s has its shadow freed as it goes out of scope (%s, declared with %s: every return and the end of its block)", pl.m.Key, st.File, st.Line, st.Fn, so.guard, attr)))
		}
	}
	return out
}
