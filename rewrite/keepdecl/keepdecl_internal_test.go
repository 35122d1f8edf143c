package keepdecl

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
)

// TestEnclosing: the directives of the groups around a line, the include
// guard's left out, a '#' inside a comment no directive.
func TestEnclosing(t *testing.T) {
	src := "#ifndef _X_H\n#define _X_H\n/*\n#if NOT_A_DIRECTIVE\n */\n#ifdef CONFIG_A\n#if B\n#define W 1\n#else\n#define W 2\n#endif\n#endif\n#endif\n"
	f := ast.Parse("x.h", []byte(src))
	want := map[int]bool{6: true, 7: true, 9: true, 11: true, 12: true}
	if diff := cmp.Diff(want, enclosing(f, 8)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
