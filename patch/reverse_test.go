package patch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReverse: the reversed diff of a change block applies to the new text
// and gives the old one back, deletions first; a new file's reverse
// deletes it; reversing twice renders the original diff.
func TestReverse(t *testing.T) {
	old := []byte("a\nb\nc\nd\ne\n")
	new := []byte("a\nB\nB2\nc\ne\nf\n")
	d := Diff("x.c", old, new)
	r := Reverse(&Patch{Files: []*File{d}})
	got, _, err := ApplyFile(r.Files[0], new)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(old), string(got)); diff != "" {
		t.Errorf("reversed diff applied (-want +got):\n%s", diff)
	}
	for _, h := range r.Files[0].Hunks {
		seenIns := false
		for _, l := range h.Lines {
			switch l.Op {
			case Insert:
				seenIns = true
			case Delete:
				if seenIns {
					t.Errorf("a deletion after an insertion in a change block: %+v", h.Lines)
				}
			case Context:
				seenIns = false
			}
		}
	}
	if diff := cmp.Diff(RenderFile(d), RenderFile(Reverse(r).Files[0])); diff != "" {
		t.Errorf("reversed twice (-want +got):\n%s", diff)
	}
	added := Diff("y.h", nil, []byte("int y;\n"))
	gone := Reverse(&Patch{Files: []*File{added}}).Files[0]
	if !gone.IsDelete() || gone.OldPath != "y.h" {
		t.Errorf("a new file's reverse: old %q new %q, want a deletion of y.h", gone.OldPath, gone.NewPath)
	}
}
