package verify

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

const shiftBase = `struct s { int a; int b; };
int helper(int x);
static int get_b(struct s *s) { return s->b; }
static int put(struct s *s) { return helper(s->a); }
int f(struct s *s) { return get_b(s) + put(s); }
`

// TestShiftOnly: a function whose code and callees are the same in the
// base and upstream units changes only by the layout; a changed callee
// (unless the rewritten patch changes it too), a retyped member it names
// or a changed declaration outside functions say otherwise.
func TestShiftOnly(t *testing.T) {
	layout := strings.Replace(shiftBase, "int a; int b;", "int a; char c; int b;", 1)
	for _, c := range []struct {
		name, up  string
		rewritten map[string]bool
		changed   map[string]bool
		why       string
	}{
		{"layout only", layout, nil, nil, ""},
		{"an enum upstream adds", "enum e { E_A };\n" + layout, nil, nil, ""},
		{"a changed callee", strings.Replace(layout, "s->a)", "s->a + 1)", 1), nil, nil, "upstream changes put()"},
		{"a changed callee the rewrite changes", strings.Replace(layout, "s->a)", "s->a + 1)", 1), map[string]bool{"put": true}, nil, ""},
		{"a retyped member", layout, nil, map[string]bool{"b": true}, "get_b() uses b"},
		{"a changed prototype", strings.Replace(layout, "int helper(int x);", "long helper(int x);", 1), nil, nil, "changes \"int helper"},
	} {
		base, up := ast.Parse("x.c", []byte(shiftBase)), ast.Parse("x.c", []byte(c.up))
		why := sameOutside(base, up)
		if why == "" {
			why = sameClosure(base, up, "f", c.changed, c.rewritten)
		}
		if c.why == "" && why != "" || !strings.Contains(why, c.why) {
			t.Errorf("%s: got %q, want %q", c.name, why, c.why)
		}
	}
}
