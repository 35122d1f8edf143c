package sites

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/rewrite"
)

// A blk-mq driver does not allocate its per-request data: it sets
// "tag_set.cmd_size = sizeof(struct x)" and blk-mq puts a struct x behind
// every request it allocates for the tag set (blk_mq_rq_to_pdu). Such a
// payload is made once per request slot, when the tag set is allocated,
// and lives as long as the tag set: blk-mq zeroes it and then calls the
// driver's .init_request; the driver's .exit_request runs before it goes.
// Its size is fixed by the running tag sets, so it cannot grow, but what a
// new member kept elsewhere reads for the payloads that exist is known.

// pduSite reports whether the sizeof at off is the value of an assignment
// to a tag set's cmd_size ("set.cmd_size = sizeof(...)" or "->cmd_size").
func pduSite(f *ast.File, off int) bool {
	toks := codeTokens(f)
	i := tokenAt(toks, off)
	for k := i; k >= 0 && k > i-3; k-- {
		if toks[k].Text != "sizeof" {
			continue
		}
		return k >= 3 && toks[k-1].Text == "=" && toks[k-2].Text == "cmd_size" && (toks[k-3].Text == "." || toks[k-3].Text == "->")
	}
	return false
}

// pduCallbacks finds the tag set's operations assigned in the function
// around off ("set.ops = &name;") and the .init_request and .exit_request
// callbacks of that operations table when the same file defines it.
func pduCallbacks(f *ast.File, off int) (ops, init, exit string) {
	fn := f.FuncAt(off)
	if fn == nil {
		return "", "", ""
	}
	body := f.CodeTokens(fn.Body)
	for i := 0; i+3 < len(body); i++ {
		if body[i].Text == "ops" && body[i+1].Text == "=" && body[i+2].Text == "&" && body[i+3].Kind == ast.Ident {
			ops = body[i+3].Text
		}
	}
	if ops == "" {
		return "", "", ""
	}
	toks := codeTokens(f)
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].Text != ops || toks[i+1].Text != "=" || toks[i+2].Text != "{" {
			continue
		}
		depth := 0
		for k := i + 2; k < len(toks); k++ {
			switch toks[k].Text {
			case "{":
				depth++
			case "}":
				depth--
			}
			if depth == 0 {
				break
			}
			if depth == 1 && toks[k].Text == "." && k+3 < len(toks) && toks[k+2].Text == "=" && toks[k+3].Kind == ast.Ident {
				switch toks[k+1].Text {
				case "init_request":
					init = toks[k+3].Text
				case "exit_request":
					exit = toks[k+3].Text
				}
			}
		}
		break
	}
	return ops, init, exit
}

// blkMQZeroes checks, in the tree's own block layer, that blk-mq hands
// drivers zeroed payloads: the request pages of blk_mq_alloc_rqs are
// allocated with __GFP_ZERO and the flush request of
// blk_alloc_flush_queue with kzalloc_node. It returns the evidence, or
// "" when the tree's block layer does not show it.
func blkMQZeroes(p *rewrite.Session) string {
	for _, c := range []struct{ file, fn, word string }{
		{"block/blk-mq.c", "blk_mq_alloc_rqs", "__GFP_ZERO"},
		{"block/blk-flush.c", "blk_alloc_flush_queue", "kzalloc_node"},
	} {
		src := p.File(c.file)
		if src == nil {
			return ""
		}
		f := ast.Parse(c.file, src)
		fn := f.Func(c.fn)
		if fn == nil || !strings.Contains(string(src[fn.Body.Off:fn.Body.End]), c.word) {
			return ""
		}
	}
	return "blk-mq zeroes every request payload (block/blk-mq.c blk_mq_alloc_rqs: __GFP_ZERO pages; block/blk-flush.c blk_alloc_flush_queue: kzalloc_node)"
}

// stmtWordRE are the keywords that start a statement, not a declaration.
var stmtWordRE = regexp.MustCompile(`^(return|goto|if|else|while|for|do|switch|case|default|break|continue|sizeof)$`)

// classifyPDU fills a site found at a tag set's cmd_size.
func classifyPDU(p *rewrite.Session, f *ast.File, st *Site, tag string) {
	st.Kind = PDU
	st.Unfit = "the payload of every blk-mq request (tag_set.cmd_size = sizeof(struct " + tag + ")): the running kernel's tag sets were allocated with the old size"
	ops, init, exit := pduCallbacks(f, st.Off)
	st.Init, st.Exit = init, exit
	zero := blkMQZeroes(p)
	switch {
	case zero == "":
		st.Alloc = "blk-mq, which the tree's block layer does not show to zero payloads"
	case ops == "":
		st.Alloc = "blk-mq, with operations kprewrite cannot find (no \"ops = &name;\" in " + st.Fn + ")"
	default:
		st.Zeroed = true
		st.Alloc = zero
		if init != "" {
			st.Alloc += fmt.Sprintf(", then %s's .init_request %s", ops, init)
		}
	}
}

// PDUVar returns the local variable of fn that holds the payload, a
// "struct tag *name = ...;" declared (and set) at the top of the body, and the offset of
// the first statement after the declarations; "" when there is none.
func PDUVar(f *ast.File, fn *ast.Func, tag string) (string, int) {
	toks := f.CodeTokens(fn.Body)
	name := ""
	i := 1 // after '{'
	for i < len(toks)-1 {
		// a declaration starts with a type word or "type *name"/"type name"
		t := toks[i]
		if stmtWordRE.MatchString(t.Text) {
			break
		}
		decl := typeWordRE.MatchString(t.Text) || t.Kind == ast.Ident && i+1 < len(toks) && (toks[i+1].Kind == ast.Ident || toks[i+1].Text == "*" && i+2 < len(toks) && toks[i+2].Kind == ast.Ident && i+3 < len(toks) && (toks[i+3].Text == "=" || toks[i+3].Text == ";" || toks[i+3].Text == ","))
		if !decl {
			break
		}
		k := i
		for k < len(toks) && toks[k].Text != ";" {
			k++
		}
		if k+1 >= len(toks) {
			return "", -1
		}
		if i+4 < k && toks[i].Text == "struct" && toks[i+1].Text == tag && toks[i+2].Text == "*" && toks[i+3].Kind == ast.Ident && toks[i+4].Text == "=" {
			name = toks[i+3].Text
		}
		i = k + 1
	}
	if name == "" || i >= len(toks)-1 {
		return "", -1
	}
	return name, toks[i].Off
}
