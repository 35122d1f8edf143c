package flagmask

import "testing"

// TestSingleBit: a rename needs both constants to be one bit by their
// definitions; a wider mask, an alias of another flag or a shift past the
// type's width is none.
func TestSingleBit(t *testing.T) {
	for body, want := range map[string]bool{
		"BIT(0)": true, "BIT(63)": true, "(BIT(3))": true, "BIT_ULL(40)": true, "0x10": true, "(0x10)": true,
		"1 << 3": true, "(1UL << (5))": true, "1U << 31": true, "2": true, "0x80000000UL": true,
		"BIT(64)": false, "BIT(99)": false, "1 << 31": false, "1ULL << 70": false,
		"BIT(0) | BIT(1)": false, "(1 << 2) - 1": false, "1 << n": false, "0x0": false, "0": false,
		"-1": false, "-0x10": false, "0x3": false, "(CONN_ADMIN_PERM | CONN_UNS_ADMIN_PERM)": false,
		"CONN_ADMIN_PERM": false, "": false, "BIT(1": false,
	} {
		if got := singleBit(body); got != want {
			t.Errorf("singleBit(%q) = %v, want %v", body, got, want)
		}
	}
}
