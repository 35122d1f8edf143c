package retype

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
)

func TestMacroArg(t *testing.T) {
	for _, tc := range []struct {
		stmt string
		name string
		idx  int
		ok   bool
	}{
		{"n = READ_ONCE(d->len);", "READ_ONCE", 0, true},
		{"n = READ_ONCE((d->len));", "READ_ONCE", 0, true},
		{"WRITE_ONCE(d->len, 0);", "WRITE_ONCE", 0, true},
		{"WRITE_ONCE(x[f(1, 2)], d->len);", "WRITE_ONCE", 1, true},
		{"pr_info(\"%d %d\\n\", a, d->len);", "pr_info", 2, true},
		{"smp_store_release(&d->len, 1);", "smp_store_release", 0, true},
		{"if (d->len) n = 1;", "", 0, false},
		{"n = f(d->len + 1);", "", 0, false},
		{"n = (int)(d->len);", "", 0, false},
		{"n = d->len;", "", 0, false},
	} {
		src := "void fn(struct dev *d)\n{\n\t" + tc.stmt + "\n}\n"
		f := ast.Parse("x.c", []byte(src))
		a, err := cexpr.Find(f, strings.Index(src, "->"))
		if err != nil {
			t.Fatalf("%s: %v", tc.stmt, err)
		}
		c, ok := macroArg(f, a)
		if ok != tc.ok || ok && (c.name != tc.name || c.idx != tc.idx) {
			t.Errorf("macroArg(%q) = %q, %d, %v; want %q, %d, %v", tc.stmt, c.name, c.idx, ok, tc.name, tc.idx, tc.ok)
		}
	}
}
