package shadow

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
)

// A read of a reference-holding pointer is safe for an object that reads
// NULL only when the pointer itself goes to a NULL-safe call or is tested
// before it is dereferenced.
func TestNullTolerant(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		src  string
		at   int // which "->m" of the text (0-based)
		safe bool
	}{
		{"void f(struct s *o) { dev_put(o->m); }", 0, true},
		{"void f(struct s *o) { put_device(&o->m->dev); }", 0, false},
		{"void f(struct s *o) { dev_put(o->m->peer); }", 0, false},
		{"int f(struct s *o) { return o->m && o->m->x; }", 1, true},
		{"int f(struct s *o) { return !o->m && o->m->x; }", 1, false},
		{"int f(struct s *o, struct t *p) { return p->o->m && o->m->x; }", 1, false},
		{"int f(struct s *o) { return o->m->x; }", 0, false},
		{"int f(struct s *o) { if (o->m) g(); return 0; }", 0, true},
	} {
		f := ast.Parse("x.c", []byte(c.src))
		off := -1
		for k, rest := 0, 0; k <= c.at; k++ {
			i := strings.Index(c.src[rest:], "->m")
			off, rest = rest+i, rest+i+3
		}
		a, err := cexpr.Find(f, off)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if a.Kind == cexpr.AddrOf && a.Chained == "->" {
			a.Kind = cexpr.Read // as member.Apply does for a pointer member
		}
		// as refNullCheck: only a read can be tolerant
		if got := a.Kind == cexpr.Read && nullTolerant(f, a) != ""; got != c.safe {
			t.Errorf("%q (access %d): tolerant %v, want %v", c.src, c.at, got, c.safe)
		}
	}
}
