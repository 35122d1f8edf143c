package shadow

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// TestObjectNames checks how writtenFirst names the object an expression
// reaches: in the function's parameters' terms, through locals assigned
// once, with &* and *& folded away.
func TestObjectNames(t *testing.T) {
	src := `static int f(struct vcpu *vcpu, struct cache *to, int n)
{
	struct ctx *ctx = vcpu->ctx;
	struct cache *c = &ctx->cache;
	struct cache tmp;
	struct cache *moved = to;

	moved = c;
	n++;
	return 0;
}
`
	f := ast.Parse("f.c", []byte(src))
	s := newScope(nil, f, f.Func("f"))
	for expr, want := range map[string]string{
		"to":              "$1",
		"*to":             "(*$1)",
		"&to->cs":         "&(*$1).cs",
		"&ctx->cache":     "&(*(*$0).ctx).cache",
		"c":               "&(*(*$0).ctx).cache",
		"*c":              "(*(*$0).ctx).cache",
		"(&vcpu->ctx)":    "&(*$0).ctx",
		"&tmp":            "&tmp",
		"tmp.cs":          "tmp.cs",
		"moved":           "", // assigned twice
		"n":               "", // incremented
		"vcpu->ctx + 1":   "", // arithmetic names no object
		"unknown_pointer": "", // a global: anyone may change it
	} {
		got := ""
		if o := s.expr(ast.Tokenize([]byte(expr))); o != nil {
			got = o.String()
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", expr, got, want)
		}
	}
	// a callee's object, in its caller's terms
	callee := deref(&object{kind: 'p', name: "0"})
	arg := s.expr(ast.Tokenize([]byte("&ctx->cache")))
	if got, want := callee.subst([]*object{arg}).String(), "(*(*$0).ctx).cache"; got != want {
		t.Errorf("subst: got %q, want %q", got, want)
	}
	if got := (&object{kind: 'l', name: "tmp"}).subst(nil); got != nil {
		t.Errorf("a callee's local is no object of its caller: got %v", got)
	}
}
