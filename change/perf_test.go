package change

import (
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bigHunk returns a file and a version of it with n globals and n small
// functions added in one place: one hunk of 4n lines that makes 2n changes
// (and n comment lines that no change explains).
func bigHunk(n int) (old, nw []byte) {
	pre := "// SPDX-License-Identifier: GPL-2.0\n#include <linux/kernel.h>\n\nint first;\n\nint last;\n"
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "int v%d;\n", i)
		fmt.Fprintf(&b, "static int f%d(void) { return %d; }\n", i, i)
		b.WriteString("/* a comment line */\n\n")
	}
	post := strings.Replace(pre, "int first;\n", "int first;\n"+b.String(), 1)
	return []byte(pre), []byte(post)
}

// cpuTime is the processor time the process has used so far (garbage
// collection included); unlike the wall clock it hardly depends on what
// else the machine runs.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// assignTime returns the least processor time of five runs of
// assignHunks on a big hunk (the rest of Compute, parsing and the entity
// comparisons, is linear and would only blur the measure).
func assignTime(t *testing.T, n int) time.Duration {
	old, nw := bigHunk(n)
	fc := Compute("kernel/big.c", old, nw)
	c := &cmp{fc: fc, pre: fc.Pre, post: fc.Post}
	best := time.Duration(1 << 62)
	for range 5 {
		for _, ch := range fc.Changes {
			ch.Hunks = nil
		}
		runtime.GC()
		start := cpuTime(t)
		c.assignHunks()
		best = min(best, cpuTime(t)-start)
	}
	if len(fc.Changes) != 2*n {
		t.Fatalf("%d changes, want %d", len(fc.Changes), 2*n)
	}
	return best
}

// TestBigHunkLinear: tying the changes of a hunk 8 times as big to it takes
// about 8 times as long, not 64 (each change used to scan the lines of the
// hunk). The bound, 24, leaves room for a loaded machine.
func TestBigHunkLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("times a 160,000-line hunk")
	}
	small, big := assignTime(t, 5000), assignTime(t, 40000)
	ratio := float64(big) / float64(max(small, time.Microsecond))
	t.Logf("assignHunks on 20,000 vs 160,000 hunk lines: %v vs %v, ratio %.1f", small, big, ratio)
	if ratio > 24 {
		t.Errorf("8 times the input took %.1f times as long (%v vs %v): growth is not linear", ratio, small, big)
	}
}

// TestBigHunkChanges: every change of a big hunk is tied to it, and the
// comment lines make no change of their own.
func TestBigHunkChanges(t *testing.T) {
	old, nw := bigHunk(300)
	fc := Compute("kernel/big.c", old, nw)
	kinds := map[Kind]int{}
	for _, ch := range fc.Changes {
		kinds[ch.Kind]++
		if len(ch.Hunks) != 1 || ch.Hunks[0] != 1 {
			t.Errorf("%s %s: hunks %v, want [1]", ch.Kind, ch.Subject, ch.Hunks)
		}
	}
	if kinds[VarAdded] != 300 || kinds[FuncAdded] != 300 || len(fc.Changes) != 600 {
		t.Errorf("changes by kind: %v", kinds)
	}
}

// BenchmarkBigHunk times Compute on one hunk of 50,000 and 200,000 lines.
func BenchmarkBigHunk(b *testing.B) {
	for _, n := range []int{12500, 50000} {
		old, nw := bigHunk(n)
		b.Run(fmt.Sprintf("lines=%d", 4*n), func(b *testing.B) {
			for b.Loop() {
				Compute("kernel/big.c", old, nw)
			}
		})
	}
}
