package header2c_test

import (
	"testing"

	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/transforms"
)

// TestCases runs the cases of testdata/: each a patch of a miniature tree,
// the rewritten patch and what must become of its hazards.
func TestCases(t *testing.T) {
	t.Parallel()
	rewritetest.Run(t, "testdata", transforms.All())
}
