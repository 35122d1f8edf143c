package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestGuardTurnsAPanicIntoExit3 checks that a bug that panics is reported
// as kprewrite's own failure (exit 3, one line naming where), not as Go's
// exit 2, which means bad input.
func TestGuardTurnsAPanicIntoExit3(t *testing.T) {
	t.Setenv("KPREWRITE_DEBUG", "")
	var stderr bytes.Buffer
	code := guard(&stderr, func() int {
		var s []int
		i := 3
		return s[i]
	})
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	out := stderr.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "internal error at guard_test.go:") || !strings.Contains(out, "index out of range") {
		t.Errorf("stderr = %q, want one line naming guard_test.go and the panic", out)
	}
	if code := guard(&stderr, func() int { return exitNeedsHuman }); code != exitNeedsHuman {
		t.Errorf("without a panic: exit %d, want %d", code, exitNeedsHuman)
	}
}
