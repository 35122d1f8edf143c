package rewrite

import "testing"

// TestRevertedLine: a header line that upstream changes and the current
// text has as the original (a moved inline put back) is old code; a line
// upstream leaves alone, or one the current text changes, is not.
func TestRevertedLine(t *testing.T) {
	orig := []byte("a\nb\ncall(x);\nd\n")
	up := []byte("a\nb\nnew1\ncall(x, 1);\nd\n")
	cur := []byte("a\nadded\nb\ncall(x);\nd\n") // inline put back, a line added above
	for _, tc := range []struct {
		line int
		want bool
	}{
		{4, true},  // call(x): changed upstream, put back
		{1, false}, // a: upstream keeps it
		{2, false}, // added by the current text
		{5, false}, // d: upstream keeps it
	} {
		if got := revertedLine(orig, cur, up, tc.line); got != tc.want {
			t.Errorf("revertedLine(line %d) = %v, want %v", tc.line, got, tc.want)
		}
	}
	if revertedLine(orig, cur, nil, 4) {
		t.Error("a header the patch does not change has no reverted line")
	}
}
