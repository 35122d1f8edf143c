package retype

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

func TestMaskBit(t *testing.T) {
	for _, tc := range []struct {
		body string
		bit  int
		ok   bool
	}{
		{"BIT(3)", 3, true},
		{"BIT_ULL(5)", 5, true},
		{"(1 << 4)", 4, true},
		{"(1UL << 7)", 7, true},
		{"0x20", 5, true},
		{"512", 9, true},
		{"1", 0, true},
		{"0", 0, false},
		{"6", 0, false},      // two bits
		{"BIT(n)", 0, false}, // not a constant
		{"FOO | BAR", 0, false},
	} {
		bit, ok := maskBit(tc.body)
		if ok != tc.ok || (ok && bit != tc.bit) {
			t.Errorf("maskBit(%q) = %d, %v; want %d, %v", tc.body, bit, ok, tc.bit, tc.ok)
		}
	}
}

func TestNarrowFlags(t *testing.T) {
	m := func(typ string) *ast.Member { return &ast.Member{Type: typ} }
	for _, tc := range []struct {
		from, to string
		width    int
		ok       bool
	}{
		{"u8", "unsigned long", 8, true},
		{"unsigned int", "unsigned long", 32, true},
		{"u16", "unsigned  long", 16, true},
		{"s8", "unsigned long", 0, false},  // signed: its top bit is the sign
		{"u64", "unsigned long", 0, false}, // no narrower
		{"u8", "atomic_t", 0, false},       // not a bit-operations word
		{"u8", "unsigned long long", 0, false},
	} {
		_, w, ok := narrowFlags(m(tc.from), m(tc.to))
		if ok != tc.ok || w != tc.width {
			t.Errorf("narrowFlags(%s -> %s) = %d, %v; want %d, %v", tc.from, tc.to, w, ok, tc.width, tc.ok)
		}
	}
}

// TestBitNumberThroughInline: a bit number that is a parameter of a static
// inline function is bounded by its callers' constants; one that a caller
// passes from elsewhere is not.
func TestBitNumberThroughInline(t *testing.T) {
	src := `#define F_BUSY 2
static inline void mark(struct s *p, unsigned int bit)
{
	set_bit(bit, &p->flags);
}
void a(struct s *p) { mark(p, F_BUSY); }
void b(struct s *p) { mark(p, 5); }
`
	f := ast.Parse("x.c", []byte(src))
	got, why := bitNumber(f, f.Func("mark"), "bit", 2)
	if why != "" || len(got) != 2 || got[0] != 2 || got[1] != 5 {
		t.Errorf("bitNumber = %v, %q; want [2 5]", got, why)
	}
	f = ast.Parse("x.c", []byte(src+"void c(struct s *p, int n) { mark(p, n); }\n"))
	if _, why := bitNumber(f, f.Func("mark"), "bit", 2); why == "" {
		t.Error("a bit number from a caller's parameter was bounded")
	}
}
