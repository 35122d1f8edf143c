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

// TestFixed checks which names stand for one object between a write and
// a read: none through a pointer loaded from memory, which the code in
// between may reassign.
func TestFixed(t *testing.T) {
	src := `static int f(struct vcpu *vcpu, struct cache *to)
{
	struct ctx *ctx = vcpu->ctx;
	struct cache tmp;

	return 0;
}
`
	f := ast.Parse("f.c", []byte(src))
	s := newScope(nil, f, f.Func("f"))
	for expr, want := range map[string]bool{
		"*to":          true,
		"to->inner":    true,
		"tmp":          true,
		"*ctx":         false, // ctx is vcpu->ctx, a load
		"vcpu->ctx->x": false,
	} {
		o := s.expr(ast.Tokenize([]byte(expr)))
		if o == nil {
			t.Fatalf("%s: no object", expr)
		}
		if got := fixed(o); got != want {
			t.Errorf("fixed(%s = %s) = %v, want %v", expr, o, got, want)
		}
	}
}

// TestGuardable checks where a __cleanup guard may follow a stack
// object's declaration: among the leading declarations of its block, and
// in a nested block only when no label or case could be jumped to.
func TestGuardable(t *testing.T) {
	for name, tc := range map[string]struct {
		src string
		ok  bool
	}{
		"leading":           {"int f(void)\n{\n\tint n = 0;\n\tstruct req r;\n\n\tuse(&r);\nout:\n\treturn n;\n}\n", true},
		"after a statement": {"int f(int x)\n{\n\tif (!x)\n\t\tgoto out;\n\tstruct req r;\n\n\tuse(&r);\nout:\n\treturn 0;\n}\n", false},
		"in a switch":       {"int f(int k)\n{\n\tswitch (k) {\n\tstruct req r;\n\tcase 1:\n\t\tuse(&r);\n\t}\n\treturn 0;\n}\n", false},
		"nested block":      {"int f(int k)\n{\n\tif (k) {\n\t\tstruct req r;\n\n\t\tuse(&r);\n\t}\n\treturn 0;\n}\n", true},
	} {
		f := ast.Parse("f.c", []byte(tc.src))
		toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
		start := -1
		for i, tk := range toks {
			if tk.Text == "struct" && toks[i+1].Text == "req" {
				start = i
			}
		}
		why := guardable(f, toks, start)
		if (why == "") != tc.ok {
			t.Errorf("%s: guardable says %q, want ok=%v", name, why, tc.ok)
		}
	}
}
