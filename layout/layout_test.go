package layout

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// structOf lays out n u64 members m0..m(n-1), with an int inserted at
// offset ins when ins >= 0.
func structOf(n int, ins int64) *Struct {
	s := &Struct{Kind: "struct", Name: "big", Align: 8}
	off := int64(0)
	for i := 0; i < n; i++ {
		if off == ins {
			s.Members = append(s.Members, Member{Name: "added", Type: "int", Offset: off, Size: 4, BitOffset: off * 8, Align: 4})
			off += 8
		}
		s.Members = append(s.Members, Member{Name: fmt.Sprintf("m%d", i), Type: "u64", Offset: off, Size: 8, BitOffset: off * 8, Align: 8})
		off += 8
	}
	s.Size = off
	return s
}

func TestDiffLongShiftIsOneLine(t *testing.T) {
	got := Diff(structOf(40, -1), structOf(40, 16))
	want := []string{"size 320 -> 328", "added new at 16 (4 bytes)", "38 members from m2 to m39 move by +8 (16 -> 24 .. 312 -> 320)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDiffShortShiftIsListed(t *testing.T) {
	got := Diff(structOf(4, -1), structOf(4, 16))
	want := []string{"size 32 -> 40", "added new at 16 (4 bytes)", "m2 offset 16 -> 24", "m3 offset 24 -> 32"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if Diff(structOf(4, -1), structOf(4, -1)) != nil {
		t.Errorf("identical layouts differ")
	}
}
