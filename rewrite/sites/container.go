package sites

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/rewrite"
)

// ContainerWrites reports whether every object that embeds the struct of
// an Embedded site gets the members written on its creation path before
// anything else can read them: the embedding struct (and the one that
// embeds it, up to three levels) is created only on the heap, by
// functions that assign each member, in the upstream text, with an
// unconditional statement of their body ("w->hid.m = -1;"). Objects of
// static storage never go away and count as written. The second result
// says where, or why not.
//
// It answers the question a shadow variable of an embedded struct raises
// when the frees of its container are not known: a new container at a
// freed one's address finds the shadow left behind, and it is harmless
// only when the creation path overwrites it before any use.
func ContainerWrites(p *rewrite.Pass, st *Site, members []string) (bool, string) {
	m := embeddedRE.FindStringSubmatch(st.Unfit)
	if st.Kind != Embedded || m == nil {
		return false, "not an embedded object"
	}
	return containerWrites(p, st, m[1], members, 3)
}

func containerWrites(p *rewrite.Pass, st *Site, field string, members []string, depth int) (bool, string) {
	if depth == 0 {
		return false, "embedded more than three levels deep"
	}
	outer, made, why := embedder(p, st)
	if why != "" {
		return false, why
	}
	var where []string
	for _, cs := range made {
		switch {
		case harmless(cs):
			continue
		case StaticStorage(p, cs):
			continue // static storage: never freed
		case cs.Kind == Embedded:
			ok, why := containerWrites(p, cs, field, members, depth-1)
			if !ok {
				return false, why
			}
			where = append(where, why)
		case (cs.Kind == Heap || cs.Kind == Private) && cs.Fn != "":
			v := heapVar(p.Parse(cs.File), cs)
			for _, m := range members {
				if why := writesFirst(p, cs.File, cs.Fn, v, field, m); why != "" {
					return false, fmt.Sprintf("%s in %s creates struct %s (which embeds it), and %s", cs, cs.Fn, outer.Name, why)
				}
			}
			where = append(where, fmt.Sprintf("struct %s in %s (%s)", outer.Name, cs.Fn, cs.File))
		default:
			return false, fmt.Sprintf("struct %s (which embeds it) is also made at %s", outer.Name, cs)
		}
	}
	if len(where) == 0 {
		return false, fmt.Sprintf("the compiler found no place that creates struct %s (which embeds it)", outer.Name)
	}
	return true, strings.Join(where, ", ")
}

// embedder returns the struct that embeds the object of an Embedded site
// and the sites where the compiler finds it made, or why not.
func embedder(p *rewrite.Pass, st *Site) (*ast.Struct, []*Site, string) {
	outer := enclosing(p, st)
	if outer == nil {
		return nil, nil, fmt.Sprintf("%s:%d: kprewrite cannot tell which struct embeds it", st.File, st.Line)
	}
	res, err := Find(p, st.File, outer.Name)
	if err != nil {
		return nil, nil, fmt.Sprintf("the creation sites of struct %s (which embeds it) are not known: %v", outer.Name, err)
	}
	return outer, res.Sites, ""
}

// harmless reports whether a creation site of a container makes no object
// of its own: a memset, a plain sizeof, a copy of one that exists. A
// sizeof that sizes something else (a slab cache, kmemdup) is not.
func harmless(cs *Site) bool {
	return cs.Kind == Zeroing || cs.Kind == Size && cs.Unfit == "" || cs.Kind == Copy && cs.Unfit == ""
}

// StaticStorage reports whether a creation site is an object of static
// storage, made once and never freed: a global, or an array outside
// functions that is not itself a member of a struct (an array member is
// made with its own container).
func StaticStorage(p *rewrite.Pass, cs *Site) bool {
	if cs.Kind == Global {
		return true
	}
	return cs.Kind == Array && cs.Fn == "" && !inStructBody(p.Parse(cs.File), cs.Off)
}

// inStructBody reports whether off is inside the body of a struct or
// union of f, named or not: a declaration there is a member.
func inStructBody(f *ast.File, off int) bool {
	for _, s := range f.Structs {
		if s.Body.Off <= off && off < s.Body.End {
			return true
		}
	}
	return false
}

// enclosing is the named struct whose body holds an Embedded site (the
// member declaration that embeds the object), or nil.
func enclosing(p *rewrite.Pass, st *Site) *ast.Struct {
	f := p.Parse(st.File)
	var outer *ast.Struct
	for _, s := range f.Structs {
		if s.Name != "" && s.Body.Off <= st.Off && st.Off < s.Body.End && (outer == nil || s.Body.Off > outer.Body.Off) {
			outer = s
		}
	}
	if outer == nil || outer.Kind != "struct" {
		return nil
	}
	return outer
}

// Container is the struct that embeds an object (an Embedded site) and
// where its objects are made.
type Container struct {
	Tag   string  // "intel_digital_port"
	Field string  // the member that embeds the object: "dp"
	Sites []*Site // its heap creation sites (other harmless sites left out)
}

// ContainerOf returns the struct that embeds the object of an Embedded
// site and its heap creation sites, or why kprewrite cannot know every
// place a container is made: one is embedded in turn, lives on the stack
// or in an array made at run time, or nothing creates it. Containers of
// static storage are never made again and are left out.
func ContainerOf(p *rewrite.Pass, st *Site) (*Container, string) {
	m := embeddedRE.FindStringSubmatch(st.Unfit)
	if st.Kind != Embedded || m == nil {
		return nil, "not an embedded object"
	}
	outer, made, why := embedder(p, st)
	if why != "" {
		return nil, why
	}
	c := &Container{Tag: outer.Name, Field: m[1]}
	for _, cs := range made {
		switch {
		case harmless(cs), StaticStorage(p, cs):
		case cs.Kind == Heap && cs.Fn != "" && cs.Unfit == "":
			c.Sites = append(c.Sites, cs)
		default:
			return nil, fmt.Sprintf("struct %s (which embeds it) is also made at %s", outer.Name, cs)
		}
	}
	if len(c.Sites) == 0 {
		return nil, fmt.Sprintf("the compiler found no place that creates struct %s (which embeds it) on the heap", outer.Name)
	}
	return c, ""
}

// writesFirst says why function fn of file, in its upstream text, may
// let the object in variable v go without assigning member of the
// embedded field, or "" when it does not: a statement at the top level of
// its body assigns "v->...field.member" (or through a local that holds
// &v->... or v), and no goto, and no return but a failure's (a negative
// constant, NULL, ERR_PTR(), or the variable an enclosing if tests),
// comes before it.
func writesFirst(p *rewrite.Pass, file, fn, v, field, member string) string {
	if v == "" {
		return "the allocation is not assigned to a local variable"
	}
	src, ok := p.Upstream[file]
	if !ok {
		src = p.Original(file)
	}
	f := ast.Parse(file, src)
	d := f.Func(fn)
	if d == nil {
		return "kprewrite cannot find the function"
	}
	toks := f.CodeTokens(d.Body)
	roots := map[string]bool{v: true}
	depth, start := 0, true
	for i, t := range toks {
		switch t.Text {
		case "{":
			depth++
			start = true
			continue
		case "}":
			depth--
			start = true
			continue
		case ";":
			start = true
			continue
		case "goto":
			return "a goto comes before the assignment"
		case "return":
			if !failure(toks, i) {
				return fmt.Sprintf("%s:%d returns before the assignment", file, f.Line(t.Off))
			}
		}
		if !start {
			continue
		}
		start = false
		if depth != 1 || t.Kind != ast.Ident || keywordRE.MatchString(t.Text) {
			continue
		}
		// a local that holds the object or a part of it: "x = &v->y;",
		// "struct w *x = &v->y;"
		for k := i; k+3 < len(toks) && toks[k].Text != ";"; k++ {
			if toks[k+1].Text == "=" && toks[k].Kind == ast.Ident && (roots[toks[k+2].Text] || toks[k+2].Text == "&" && roots[toks[k+3].Text]) {
				roots[toks[k].Text] = true
				break
			}
		}
		// "v->a.field.member = x;": an access chain from a root
		if !roots[t.Text] {
			continue
		}
		for k := i + 1; k+1 < len(toks); k++ {
			tk := toks[k]
			if tk.Text == member && k >= i+3 && (toks[k-1].Text == "->" || toks[k-1].Text == ".") && toks[k-2].Text == field && toks[k+1].Text == "=" {
				return ""
			}
			if tk.Kind != ast.Ident && tk.Text != "->" && tk.Text != "." {
				break
			}
		}
	}
	return fmt.Sprintf("nothing at the top level of %s assigns %s.%s before the object may be used", fn, field, member)
}

// embeddedRE reads the field name from an Embedded site's Unfit.
var embeddedRE = regexp.MustCompile(`embedded in another struct \((\w+)\)`)

// keywordRE are the statement keywords a top-level statement may start with.
var keywordRE = regexp.MustCompile(`^(if|else|for|while|do|switch|case|default|return|goto|break|continue|sizeof)$`)

// failure reports whether the return at toks[i] returns a failure: a
// negative constant, NULL, ERR_PTR(...), or the variable that the if
// right before it tests ("if (err) return err;", "if (ret < 0) return ret;").
func failure(toks []ast.Token, i int) bool {
	if i+1 >= len(toks) {
		return false
	}
	x := toks[i+1].Text
	switch {
	case x == "-" && i+2 < len(toks) && isConstant(toks[i+2].Text):
		return true
	case x == "NULL" || x == "ERR_PTR" || x == "ERR_CAST":
		return true
	case toks[i+1].Kind == ast.Ident && i+2 < len(toks) && toks[i+2].Text == ";":
		// "if ( x )" or "if ( x < 0 )", maybe with a "{", right before
		k := i - 1
		if k >= 0 && toks[k].Text == "{" {
			k--
		}
		if k >= 3 && toks[k].Text == ")" && toks[k-1].Text == x && toks[k-2].Text == "(" && toks[k-3].Text == "if" {
			return true
		}
		if k >= 5 && toks[k].Text == ")" && toks[k-1].Text == "0" && toks[k-2].Text == "<" && toks[k-3].Text == x && toks[k-4].Text == "(" && toks[k-5].Text == "if" {
			return true
		}
	}
	return false
}
