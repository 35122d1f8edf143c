package layout

import "testing"

func TestAnchors(t *testing.T) {
	t.Parallel()
	// struct s { int id; u8 up:1, admin:1; [hole 1..3 after the unit at 4]; u16 port; [6..8]; long total; }
	s := &Struct{Kind: "struct", Name: "s", Size: 16, Align: 8, Members: []Member{
		{Name: "id", Offset: 0, Size: 4, BitOffset: 0},
		{Name: "up", Offset: 4, Size: 1, BitOffset: 32, BitSize: 1},
		{Name: "admin", Offset: 4, Size: 1, BitOffset: 33, BitSize: 1},
		{Name: "port", Offset: 6, Size: 2, BitOffset: 48},
		{Name: "total", Offset: 8, Size: 8, BitOffset: 64},
		{Name: "u.x", Offset: 8, Size: 4, BitOffset: 64},
	}}
	cases := []struct {
		off, size      int64
		anchor, lo, hi string
	}{
		// right after a named member
		{4, 1, "offsetofend(struct s, id)", "", "offsetof(struct s, port)"},
		// a byte after a bitfield unit: bitfields never anchor, the member
		// right after the range does
		{5, 1, "(offsetof(struct s, port) - 1)", "offsetofend(struct s, id)", "offsetof(struct s, port)"},
		// past the end of the last member: bounded by the size
		{16, 0, "offsetofend(struct s, total)", "", "sizeof(struct s)"},
	}
	for _, c := range cases {
		a, lo, hi := Anchors("struct s", s, c.off, c.size)
		if a != c.anchor || lo != c.lo || hi != c.hi {
			t.Errorf("[%d, +%d): got %q %q %q, want %q %q %q", c.off, c.size, a, lo, hi, c.anchor, c.lo, c.hi)
		}
	}
	// a range inside a hole, anchored on neither neighbour's edge
	a, lo, hi := Anchors("struct s", &Struct{Members: []Member{{Name: "a", Offset: 0, Size: 1}, {Name: "b", Offset: 8, Size: 8}}}, 2, 2)
	if a != "(offsetofend(struct s, a) + 1)" || lo != "offsetofend(struct s, a)" || hi != "offsetof(struct s, b)" {
		t.Errorf("inner range: %q %q %q", a, lo, hi)
	}
}
