package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/kbuild"
)

// Causes of a mismatch, in the order the report prints them.
const (
	causeNotFound = "struct not found by ast"
	causeMadeBy   = "struct made by a macro"
	causeMacro    = "member made by a macro"
	causeUnknown  = "unknown #if"
	causeMissed   = "ast missed a member"
	causeExtra    = "ast extra member"
	causeOrder    = "order differs"
)

var causeOrderList = []string{causeMadeBy, causeNotFound, causeMacro, causeUnknown, causeMissed, causeExtra, causeOrder}

// astItem is one member as ast/ reads it, after the config's #if
// conditions are applied.
type astItem struct {
	Name  string // "" for a member made by a macro that ast cannot name
	Macro string // the macro's text for such a member
	Line  int
}

func (a astItem) String() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Macro
}

// condTerm is one term of a member's condition below the struct's own.
type member struct {
	item  astItem
	terms []ast.CondTerm // terms the config cannot decide
}

// findStruct returns the definition of kind/name in f, preferring the one
// whose keyword is on line (DW_AT_decl_line).
func findStruct(f *ast.File, kind, name string, line int) *ast.Struct {
	var first *ast.Struct
	for _, s := range slices.Concat(f.Structs, f.MacroStructs) {
		if s.Kind != kind || s.Name != name {
			continue
		}
		if f.Line(s.Span.Off) == line {
			return s
		}
		if first == nil {
			first = s
		}
	}
	return first
}

// astMembers flattens the members of s (anonymous nested aggregates in
// their place), drops those the config compiles out, and returns the rest
// with the condition terms the config cannot decide. decided holds the
// values the compiler gave expressions the config cannot decide (nil when
// it was not asked).
func astMembers(f *ast.File, s *ast.Struct, cfg *kbuild.Config, decided map[string]bool) []member {
	var out []member
	var walk func(ms []*ast.Member)
	walk = func(ms []*ast.Member) {
		for _, m := range ms {
			terms := m.Cond
			if len(terms) >= len(s.Cond) && ast.Cond(terms[:len(s.Cond)]).Equal(s.Cond) {
				terms = terms[len(s.Cond):] // the struct is in the DWARF: its own condition holds
			}
			var unknown []ast.CondTerm
			dropped := false
			for _, t := range terms {
				v := cfg.EvalCond(ast.Cond{t})
				if d, ok := decided[t.Expr]; ok && v == kbuild.TriUnknown {
					v = kbuild.False
					if d == t.Want {
						v = kbuild.True
					}
				}
				switch v {
				case kbuild.False:
					dropped = true
				case kbuild.TriUnknown:
					unknown = append(unknown, t)
				}
			}
			if dropped {
				continue
			}
			line := f.Line(m.Decl.Off)
			switch {
			case m.Nested != nil && m.Name == "":
				n := len(out)
				walk(m.Nested.Members)
				for k := n; k < len(out); k++ {
					out[k].terms = append(slices.Clone(unknown), out[k].terms...)
				}
			case m.Name != "":
				out = append(out, member{astItem{Name: m.Name, Line: line}, unknown})
			case m.Names != nil:
				for _, n := range m.Names {
					out = append(out, member{astItem{Name: n, Line: line}, unknown})
				}
			case m.Macro != "":
				out = append(out, member{astItem{Macro: m.Macro, Line: line}, unknown})
			default:
				// an unnamed bitfield: DWARF has no member for it
			}
		}
	}
	walk(s.Members)
	return out
}

// result is the comparison of one struct.
type result struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Header string `json:"header"`
	Line   int    `json:"line"`
	Object string `json:"object"`
	Cause  string `json:"cause,omitempty"` // "" when equal
	Index  int    `json:"index"`           // the first differing position
	DWARF  string `json:"dwarf,omitempty"` // the DWARF member there ("" past the end)
	AST    string `json:"ast,omitempty"`   // the ast member there ("" past the end)
	ASTAt  int    `json:"ast_line,omitempty"`
	Macro  string `json:"macro,omitempty"` // the macro's name, for causeMacro
	// Undecided are the #if expressions the config cannot decide, for causeUnknown.
	Undecided []string `json:"undecided,omitempty"`
	Want      []string `json:"-"`
	Got       []string `json:"-"`
}

// maxUnknown bounds the undecided #if expressions tried in every
// combination; beyond it only "all true" and "all false" are tried.
const maxUnknown = 6

// compare compares the DWARF member names with what ast reads.
// renames maps a name ast reads to the identifier an object-like macro
// turns it into.
func compare(ds *dwarfStruct, f *ast.File, cfg *kbuild.Config, renames map[string]string, decided map[string]bool) result {
	r := result{Kind: ds.Kind, Name: ds.Name, Header: ds.Header, Line: ds.Line, Object: ds.Object, Want: ds.Members}
	s := findStruct(f, ds.Kind, ds.Name, ds.Line)
	if s == nil {
		r.Cause = causeNotFound
		if !regexp.MustCompile(`\b` + ds.Kind + `\s+` + regexp.QuoteMeta(ds.Name) + `\b[^;{]*\{`).Match(f.Src) {
			r.Cause = causeMadeBy
		}
		return r
	}
	ms := astMembers(f, s, cfg, decided)
	for i := range ms {
		if to, ok := renames[ms[i].item.Name]; ok {
			ms[i].item.Name = to
		}
	}
	var exprs []string
	for _, m := range ms {
		for _, t := range m.terms {
			if !slices.Contains(exprs, t.Expr) {
				exprs = append(exprs, t.Expr)
			}
		}
	}
	// pick the members under one assignment of the undecided expressions
	pick := func(assign map[string]bool) []astItem {
		var out []astItem
	next:
		for _, m := range ms {
			for _, t := range m.terms {
				if assign[t.Expr] != t.Want {
					continue next
				}
			}
			out = append(out, m.item)
		}
		return out
	}
	allTrue := map[string]bool{}
	for _, e := range exprs {
		allTrue[e] = true
	}
	got := pick(allTrue)
	if firstDiff(ds.Members, got) < 0 {
		r.Got = names(got)
		if len(exprs) > 0 {
			// equal only by assuming the undecided conditions
			r.Cause = causeUnknown
			r.Undecided = exprs
		}
		return r
	}
	if len(exprs) > 0 {
		var tries []map[string]bool
		if len(exprs) <= maxUnknown {
			for bits := 0; bits < 1<<len(exprs); bits++ {
				a := map[string]bool{}
				for i, e := range exprs {
					a[e] = bits&(1<<i) != 0
				}
				tries = append(tries, a)
			}
		} else {
			tries = append(tries, map[string]bool{})
		}
		for _, a := range tries {
			if g := pick(a); firstDiff(ds.Members, g) < 0 {
				r.Got = names(g)
				r.Cause = causeUnknown
				r.Undecided = exprs
				return r
			}
		}
	}
	r.Got = names(got)
	i := firstDiff(ds.Members, got)
	r.Index = i
	if i < len(ds.Members) {
		r.DWARF = ds.Members[i]
	}
	var at *astItem
	if i < len(got) {
		at = &got[i]
		r.AST = at.String()
		r.ASTAt = at.Line
	}
	has := func(name string) bool {
		return slices.ContainsFunc(got, func(a astItem) bool { return a.Name == name })
	}
	switch {
	case at != nil && at.Name == "":
		r.Cause = causeMacro
		r.Macro, _, _ = strings.Cut(at.Macro, "(")
	case slices.ContainsFunc(got, func(a astItem) bool { return a.Name == "" }) && i < len(ds.Members) && !has(ds.Members[i]):
		// a member missing here that a macro elsewhere may make
		r.Cause = causeMacro
		for _, a := range got {
			if a.Name == "" {
				r.Macro, _, _ = strings.Cut(a.Macro, "(")
				break
			}
		}
	case i < len(ds.Members) && !has(ds.Members[i]):
		r.Cause = causeMissed
	case at != nil && !slices.Contains(ds.Members, at.Name):
		r.Cause = causeExtra
	default:
		r.Cause = causeOrder
	}
	return r
}

func names(items []astItem) []string {
	var out []string
	for _, a := range items {
		out = append(out, a.String())
	}
	return out
}

// firstDiff returns the first position where the DWARF names and the ast
// members differ, or -1 when they are equal.
func firstDiff(want []string, got []astItem) int {
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) || got[i].Name == "" || got[i].Name != want[i] {
			return i
		}
	}
	return -1
}

// example renders a mismatch on one line.
func (r result) example() string {
	w, g := r.DWARF, r.AST
	if w == "" {
		w = "(end)"
	}
	if g == "" {
		g = "(end)"
	}
	if r.Cause == causeNotFound || r.Cause == causeMadeBy {
		return fmt.Sprintf("%s:%d %s %s (%d members in DWARF)", r.Header, r.Line, r.Kind, r.Name, len(r.Want))
	}
	if r.Cause == causeUnknown {
		return fmt.Sprintf("%s:%d %s %s: equal only when undecided #if conditions are assumed", r.Header, r.Line, r.Kind, r.Name)
	}
	at := r.Line
	if r.ASTAt > 0 {
		at = r.ASTAt
	}
	return fmt.Sprintf("%s:%d %s %s: member %d: DWARF %s, ast %s", r.Header, at, r.Kind, r.Name, r.Index, w, g)
}
