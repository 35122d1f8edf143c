package patch

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// rewriteOf returns a file of n lines and a rewrite of all of them that
// keeps only a closing brace every fifth line.
func rewriteOf(n int) (old, nw []byte) {
	var a, b strings.Builder
	for i := 0; i < n; i++ {
		if i%5 == 4 {
			a.WriteString("}\n")
			b.WriteString("}\n")
			continue
		}
		fmt.Fprintf(&a, "\told_statement(%d);\n", i)
		fmt.Fprintf(&b, "\tnew_statement(%d);\n", i)
	}
	return []byte(a.String()), []byte(b.String())
}

// allocated returns the bytes allocated by Diff on rewriteOf(n), checking
// on the way that the diff turns the old file into the new one.
func allocated(t *testing.T, n int) uint64 {
	old, nw := rewriteOf(n)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	d := Diff("x.c", old, nw)
	runtime.ReadMemStats(&ms)
	got, _, err := ApplyFile(d, old)
	if err != nil || string(got) != string(nw) {
		t.Fatalf("n=%d: the diff does not give the new file: %v", n, err)
	}
	return ms.TotalAlloc - before
}

// TestDiffBigRewriteLinear: diffing a rewrite 8 times as big costs about 8
// times the memory (and time), not 64: the Myers search used to keep a
// full copy of its V array per edit step, so a rewrite of a few thousand
// lines took seconds and a gigabyte.
func TestDiffBigRewriteLinear(t *testing.T) {
	small, big := allocated(t, 1000), allocated(t, 8000)
	ratio := float64(big) / float64(small)
	t.Logf("Diff of a 1,000 vs 8,000-line rewrite: %d vs %d KiB allocated, ratio %.1f", small>>10, big>>10, ratio)
	if ratio > 16 || big > 64<<20 {
		t.Errorf("8 times the input allocated %.1f times as much (%d KiB): growth is not linear", ratio, big>>10)
	}
}

// TestDiscardDiffMinimal: setting aside the lines one side lacks keeps the
// diff minimal (as many common lines as the plain search finds) and valid.
func TestDiscardDiffMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	common := 0
	for round := 0; round < 200; round++ {
		gen := func(unique int) []int {
			out := make([]int, 50+r.IntN(200))
			for i := range out {
				if r.IntN(3) == 0 {
					out[i] = r.IntN(8) // shared, often repeated, like "}" or ""
				} else {
					out[i] = unique + i // on this side only
				}
			}
			return out
		}
		x, y := gen(1000), gen(2000)
		// Some common runs, as in a real edit.
		copy(y[len(y)/3:], x[:min(len(x), len(y))/3])
		plain, ok := myers(x, y, 1<<20)
		if !ok {
			t.Fatal("plain search gave up")
		}
		disc := discardDiff(x, y)
		count := func(ops []editOp) int {
			n := 0
			for _, o := range ops {
				if o.op == Context {
					n++
				}
			}
			return n
		}
		if count(disc) != count(plain) {
			t.Fatalf("round %d: %d common lines, the plain search finds %d", round, count(disc), count(plain))
		}
		common += count(disc)
		// Replay the script: it must turn x into y.
		var got []int
		i, j := 0, 0
		for _, o := range disc {
			switch o.op {
			case Context:
				if o.a != i || o.b != j || x[i] != y[j] {
					t.Fatalf("round %d: bad context op %+v at %d,%d", round, o, i, j)
				}
				got = append(got, x[i])
				i++
				j++
			case Delete:
				if o.a != i {
					t.Fatalf("round %d: bad delete %+v at %d", round, o, i)
				}
				i++
			case Insert:
				if o.b != j {
					t.Fatalf("round %d: bad insert %+v at %d", round, o, j)
				}
				got = append(got, y[j])
				j++
			}
		}
		if i != len(x) || j != len(y) || fmt.Sprint(got) != fmt.Sprint(y) {
			t.Fatalf("round %d: the script does not turn x into y", round)
		}
	}
	if common == 0 {
		t.Fatal("no common lines in any round: the test tests nothing")
	}
}
