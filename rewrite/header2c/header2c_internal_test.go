package header2c

import "testing"

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
