package verify

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPreserveLines(t *testing.T) {
	base := "a\nb\nc\n/* x\n y */\nd\n#define M(x) \\\n\tx\ne\n"
	cur := "a\nNEW1\nNEW2\nb\nc\n/* x\n y */\nd\n#define M(x) \\\n\tx + 1\ne\n"
	want := "a\nNEW1\nNEW2\n#line 2\nb\nc\n/* x\n y */\nd\n#define M(x) \\\n\tx + 1\n#line 9\ne\n"
	if diff := cmp.Diff(want, string(preserveLines([]byte(base), []byte(cur)))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
