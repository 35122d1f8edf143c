package header2c

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// TestSameConstant: macro bodies that spell one integer differently keep
// the value objects hold; a renumbered flag does not.
func TestSameConstant(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"BIT(2)", "(1 << 2)", true},
		{"BIT(2)", "BIT(3)", false},
		{"0x10", "16", true},
		{"(4U)", "4", true},
		{"1UL << 5", "BIT(5)", true},
		{"FOO | BAR", "FOO  |  BAR", true},
		{"FOO | BAR", "FOO | BAZ", false},
	} {
		if got := sameConstant(c.a, c.b); got != c.want {
			t.Errorf("sameConstant(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestEndOfStatement: a moved struct definition takes the attributes
// after its closing brace with it (a moved "struct x {...}" without its
// "__packed;" does not compile in the user); a declarator stays.
func TestEndOfStatement(t *testing.T) {
	for _, c := range []struct {
		src, want string
	}{
		{"struct a {\n\tint x;\n};\nint y;\n", "struct a {\n\tint x;\n};"},
		{"struct a {\n\tint x;\n} __packed;\n", "struct a {\n\tint x;\n} __packed;"},
		{"struct a {\n\tint x;\n} __aligned(8) /* why */ __randomize_layout;\n", "struct a {\n\tint x;\n} __aligned(8) /* why */ __randomize_layout;"},
		{"struct a {\n\tint x;\n} __attribute__((packed, aligned(4)));\n", "struct a {\n\tint x;\n} __attribute__((packed, aligned(4)));"},
		{"struct a {\n\tint x;\n} var;\n", "struct a {\n\tint x;\n}"},
		{"struct a {\n\tint x;\n}\n", "struct a {\n\tint x;\n}"},
	} {
		f := ast.Parse("x.h", []byte(c.src))
		end := strings.Index(c.src, "}") + 1
		if got := c.src[:endOfStatement(f, end)]; got != c.want {
			t.Errorf("endOfStatement(%q) takes %q, want %q", c.src, got, c.want)
		}
	}
}
