package shadow

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A kmemdup copy carries the shadow only into a variable kprewrite can
// name again after the statement.
func TestDupStatement(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ src, dst, why string }{
		{"void f(struct s *e)\n{\n\tstruct s *n = kmemdup(e, e->size, GFP_ATOMIC);\n\n\tif (!n)\n\t\treturn;\n}\n", "n", ""},
		{"void f(struct s *e, struct s *n)\n{\n\tn = kmemdup(e, sizeof(*e), GFP_KERNEL);\n}\n", "n", ""},
		{"void f(struct s *e, struct h *p)\n{\n\tp->dup = kmemdup(e, sizeof(*e), GFP_KERNEL);\n}\n", "", "stored in a member"},
		{"struct s *f(struct s *e)\n{\n\treturn kmemdup(e, sizeof(*e), GFP_KERNEL);\n}\n", "", "not assigned to a variable"},
		{"void f(struct s *e, struct s *n)\n{\n\tn = kmemdup(next(e), sizeof(*e), GFP_KERNEL);\n}\n", "", "side effect"},
	} {
		f := ast.Parse("x.c", []byte(c.src))
		cs, why := dupStatement(f, &sites.Free{File: "x.c", Line: 3, Call: "kmemdup"})
		if cs.dst != c.dst || (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
			t.Errorf("%q: dst %q, why %q; want dst %q, why containing %q", c.src, cs.dst, why, c.dst, c.why)
		}
	}
}

// A copy that is the statement of an unbraced if (or else, or a label)
// cannot be followed by a statement that runs only when it did.
func TestCopyStatementUnbraced(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"void f(struct s *dst, struct s *src, int c)\n{\n\tif (c)\n\t\t*dst = *src;\n}\n",
		"void f(struct s *dst, struct s *src, int c)\n{\n\tif (c)\n\t\treturn;\n\telse\n\t\t*dst = *src;\n}\n",
	} {
		f := ast.Parse("x.c", []byte(src))
		if c, why := copyStatement(f, strings.Index(src, "*dst"), "m"); why == "" {
			t.Errorf("%q: followed as a copy into %q", src, c.dst)
		}
	}
	src := "void f(struct s *e, struct s *n, int c)\n{\n\tif (c)\n\t\treturn;\n\telse\n\t\tn = kmemdup(e, sizeof(*e), GFP_KERNEL);\n}\n"
	if c, why := dupStatement(ast.Parse("x.c", []byte(src)), &sites.Free{File: "x.c", Line: 6, Call: "kmemdup"}); why == "" {
		t.Errorf("kmemdup under else: followed as a copy into %q", c.dst)
	}
}
