package flagmask_test

import (
	"testing"

	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
)

// TestCases runs the cases of testdata/ (package rewritetest).
func TestCases(t *testing.T) { rewritetest.Cases(t) }
