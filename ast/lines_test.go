package ast

import (
	"strings"
	"testing"
)

// TestStatementEnd: a moved struct definition takes the attributes
// after its closing brace with it (a moved "struct x {...}" without its
// "__packed;" does not compile in the user); a declarator stays.
func TestStatementEnd(t *testing.T) {
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
		f := Parse("x.h", []byte(c.src))
		end := strings.Index(c.src, "}") + 1
		if got := c.src[:StatementEnd(f, end)]; got != c.want {
			t.Errorf("StatementEnd(%q) takes %q, want %q", c.src, got, c.want)
		}
	}
}

// TestNamesRE: names match as whole identifiers, with their regexp
// metacharacters quoted.
func TestNamesRE(t *testing.T) {
	re := NamesRE([]string{"flags", "a.b"})
	for text, want := range map[string]bool{"p->flags = 0": true, "fwflags": false, "flags_x": false, "a.b": true, "axb": false} {
		if got := re.MatchString(text); got != want {
			t.Errorf("NamesRE matches %q: %v, want %v", text, got, want)
		}
	}
}
