package oracle

import (
	"testing"

	"github.com/kprewrite/kprewrite/build"
)

// TestOutermostExpansion: a use inside a macro body is placed at the
// outermost invocation gcc's notes name, not at the next error's notes.
func TestOutermostExpansion(t *testing.T) {
	ds := []build.Diagnostic{
		{File: "include/linux/rcupdate.h", Line: 30, Col: 27, Severity: "error", Message: "'struct s' has no member named 'rcu'"},
		{File: "include/linux/rcupdate.h", Line: 20, Col: 30, Severity: "note", Message: "in expansion of macro 'kvfree_rcu_arg_2'"},
		{File: "net/x.c", Line: 44, Col: 9, Severity: "note", Message: "in expansion of macro 'kfree_rcu'"},
		{File: "net/x.c", Line: 50, Col: 2, Severity: "error", Message: "'struct s' has no member named 'id'"},
		{File: "include/linux/kernel.h", Line: 9, Col: 1, Severity: "note", Message: "in expansion of macro 'container_of'"},
	}
	want := &Expansion{Macro: "kfree_rcu", File: "net/x.c", Line: 44, Col: 9}
	if got := outermostExpansion(ds, 0); got == nil || *got != *want {
		t.Errorf("outermostExpansion(0) = %+v, want %+v", got, want)
	}
	if got := outermostExpansion(ds, 3); got == nil || got.Macro != "container_of" {
		t.Errorf("outermostExpansion(3) = %+v, want container_of", got)
	}
	if got := outermostExpansion(ds[:1], 0); got != nil {
		t.Errorf("a use in plain code has no expansion, got %+v", got)
	}
}
