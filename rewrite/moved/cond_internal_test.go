package moved

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// A definition that leaves an #ifdef for unconditional code elsewhere is
// not moved unchanged: under a config without the option, the old place
// never defined it. The include guards do not count.
func TestPairsCompareConditions(t *testing.T) {
	from := ast.Parse("a.h", []byte("#ifndef _A_H\n#define _A_H\n#ifdef CONFIG_Q\n#define PEND 1\n#endif\n#define DONE 0\n#endif\n"))
	to := ast.Parse("b.h", []byte("#ifndef _B_H\n#define _B_H\n#define PEND 1\n#define DONE 0\n#endif\n"))
	empty := ast.Parse("x.h", nil)
	moves := pairs(map[string][]def{"a.h": gone(from, empty)}, map[string][]def{"b.h": gone(to, empty)})
	got := map[string]bool{}
	for _, m := range moves {
		got[m.key] = true
	}
	if !got["macro DONE"] || got["macro PEND"] || len(moves) != 1 {
		t.Errorf("moves %+v: want DONE only (PEND leaves #ifdef CONFIG_Q)", moves)
	}
}
