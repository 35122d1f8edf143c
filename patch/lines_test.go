package patch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPreserveLines(t *testing.T) {
	base := "a\nb\nc\n/* x\n y */\nd\n#define M(x) \\\n\tx\ne\n"
	cur := "a\nNEW1\nNEW2\nb\nc\n/* x\n y */\nd\n#define M(x) \\\n\tx + 1\ne\n"
	// after "#line 2" gcc numbers e 9 already: no second directive
	want := "a\nNEW1\nNEW2\n#line 2\nb\nc\n/* x\n y */\nd\n#define M(x) \\\n\tx + 1\ne\n"
	if diff := cmp.Diff(want, string(PreserveLines([]byte(base), []byte(cur)))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestPreserveLinesAfterDirective: a line removed, then one added a few
// lines below (an #include moved down): the directive after the removal
// sets the numbering, and the lines after the addition are numbered as in
// base already. A second "#line" computed from the patch's own line
// numbers alone would be missing and every later line one off (the
// dynamic debug descriptors of the file, and so its functions, changed).
func TestPreserveLinesAfterDirective(t *testing.T) {
	base := "a\nold\nb\nc\nd\ne\n"
	cur := "a\nb\nc\nnew\nd\ne\n"
	want := "a\n#line 3\nb\nc\nnew\n#line 5\nd\ne\n"
	if diff := cmp.Diff(want, string(PreserveLines([]byte(base), []byte(cur)))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
