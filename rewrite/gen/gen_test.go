package gen

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRevertLines(t *testing.T) {
	pre := "a\nb;  /* b */\nc\nd\n"
	cur := "a\nb,  /* b */\nx;  /* x */\nc\nD\n"
	// revert what touches line 3 ("x") only: the b/x block goes back, D stays
	got := string(RevertLines([]byte(pre), []byte(cur), map[int]bool{3: true}))
	if diff := cmp.Diff("a\nb;  /* b */\nc\nD\n", got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// a pure insertion
	pre2 := "a\nb\n"
	cur2 := "a\nnew\nb\n"
	if got := string(RevertLines([]byte(pre2), []byte(cur2), map[int]bool{2: true})); got != pre2 {
		t.Errorf("got %q", got)
	}
}
