package retype

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// TestNullTest pins which uses of a function-pointer member a file outside
// the patch may keep when the member's signature changes: tests of the
// pointer only, never a call, a copy or a store.
func TestNullTest(t *testing.T) {
	for _, c := range []struct {
		stmt string
		want bool
	}{
		{"if (!ops->set_mode) return 0;", true},
		{"if (ops->set_mode) return 1;", true},
		{"return ops->set_mode != NULL;", true},
		{"return ops && ops->set_mode && ops->event;", true},
		{"if (unlikely(!ops->set_mode)) return 0;", true},
		{"return ops->set_mode(1);", false},
		{"fn = ops->set_mode;", false},
		{"ops->set_mode = NULL;", false},
		{"return ops->set_mode == other;", false},
	} {
		src := "int f(struct ring_ops *ops)\n{\n\t" + c.stmt + "\n}\n"
		f := ast.Parse("t.c", []byte(src))
		col := strings.Index(c.stmt, "set_mode") + 2 // the tab, 1-based
		if got := nullTest(f, 3, col); got != c.want {
			t.Errorf("nullTest(%q) = %v, want %v", c.stmt, got, c.want)
		}
	}
}
