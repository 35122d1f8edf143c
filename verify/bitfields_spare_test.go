package verify

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/layout"
)

// TestSpareIn: a bit upstream inserts in the middle of its group may live
// in any bit the running kernel's layout leaves unused, inside one unit of
// its type.
func TestSpareIn(t *testing.T) {
	base := &layout.Struct{Kind: "struct", Name: "port", Size: 8, Align: 4, Members: []layout.Member{
		{Name: "id", Type: "int", Offset: 0, Size: 4, BitOffset: 0, Align: 4},
		{Name: "up", Type: "u8", Offset: 4, Size: 1, BitOffset: 32, BitSize: 1, Align: 1},
		{Name: "admin", Type: "u8", Offset: 4, Size: 1, BitOffset: 33, BitSize: 1, Align: 1},
	}}
	nm := layout.Member{Name: "flapping", Type: "u8", Offset: 4, Size: 1, BitOffset: 33, BitSize: 1, Align: 1}
	for _, c := range []struct {
		bit  int64
		want string
	}{
		{34, ""},
		{39, ""},
		{33, "admin uses them"},
		{8, "id uses them"},
		{64, "do not lie in one"},
	} {
		got := spareIn(base, nm, c.bit)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("bit %d: %q, want %q", c.bit, got, c.want)
		}
	}
}
