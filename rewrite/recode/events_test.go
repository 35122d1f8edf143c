package recode

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// TestFlagEvents: the running kernel's uses of a flag are stores of 0 and
// 1, increments and tests for zero, in any spelling; anything else is no
// flag.
func TestFlagEvents(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       []event
		why        string
	}{
		{"stores and tests", "if (!atomic_read(&g->r))\n\t\tatomic_set(&g->r, 1);\n\tif (unlikely(atomic_read(&g->r) == 0))\n\t\tatomic_inc(&g->r);\n\tif (atomic_read(&g->r) && x)\n\t\tatomic_set(&g->r, 0);",
			[]event{{zero: true}, {write: true, value: "1"}, {zero: true}, {write: true, value: "++"}, {}, {write: true, value: "0"}}, ""},
		{"a plain member", "if (g->r)\n\t\tg->r = false;\n\tWRITE_ONCE(g->r, 1);\n\tif (READ_ONCE(g->r) != 0)\n\t\tx = 1;",
			[]event{{}, {write: true, value: "0"}, {write: true, value: "1"}, {}}, ""},
		{"a count", "if (atomic_read(&g->r) > 1)\n\t\tx = 1;", nil, "used other than as a test for zero"},
		{"a value passed on", "x = atomic_read(&g->r);", nil, "used other than as a test for zero"},
		{"another store", "atomic_set(&g->r, 2);", nil, "it stores 2"},
		{"a decrement", "atomic_dec(&g->r);", nil, "atomic_dec() takes it"},
	} {
		src := "void f(struct gw *g)\n{\n\t" + c.body + "\n}\n"
		f := ast.Parse("x.c", []byte(src))
		got, why := flagEvents(f, f.Funcs[0], "r")
		if c.why != "" {
			if !strings.Contains(why, c.why) {
				t.Errorf("%s: got %q, want %q", c.name, why, c.why)
			}
			continue
		}
		if why != "" || len(got) != len(c.want) {
			t.Errorf("%s: got %v (%s), want %v", c.name, got, why, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: event %d is %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
}
