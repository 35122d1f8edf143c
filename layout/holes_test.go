package layout

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHoles: padding after a run of bitfields belongs to the run (gcc may
// rewrite it with a wide access), and the bytes after a flexible array
// are its elements; only true padding is a hole.
func TestHoles(t *testing.T) {
	for _, c := range []struct {
		name string
		s    *Struct
		want [][2]int64
	}{
		{"padding before a member", &Struct{Kind: "struct", Size: 16, Members: []Member{
			{Name: "a", Offset: 0, Size: 4, BitOffset: 0},
			{Name: "b", Offset: 8, Size: 8, BitOffset: 64},
		}}, [][2]int64{{4, 8}}},
		{"padding after a bitfield run", &Struct{Kind: "struct", Size: 12, Members: []Member{
			{Name: "id", Offset: 0, Size: 4, BitOffset: 0},
			{Name: "credits", Offset: 4, Size: 4, BitOffset: 32, BitSize: 20},
			{Name: "state", Offset: 8, Size: 4, BitOffset: 64},
		}}, nil},
		{"tail padding after a bitfield run", &Struct{Kind: "struct", Size: 8, Members: []Member{
			{Name: "id", Offset: 0, Size: 4, BitOffset: 0},
			{Name: "f", Offset: 4, Size: 1, BitOffset: 32, BitSize: 3},
		}}, nil},
		{"flexible array", &Struct{Kind: "struct", Size: 16, Members: []Member{
			{Name: "seq", Offset: 0, Size: 8, BitOffset: 0},
			{Name: "len", Offset: 8, Size: 2, BitOffset: 64},
			{Name: "data", Offset: 10, Size: 0, BitOffset: 80},
		}}, nil},
	} {
		if diff := cmp.Diff(c.want, Holes(c.s)); diff != "" {
			t.Errorf("%s: holes (-want +got):\n%s", c.name, diff)
		}
	}
}
