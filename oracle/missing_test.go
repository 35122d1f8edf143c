package oracle

import (
	"testing"

	"github.com/kprewrite/kprewrite/build"
)

func TestMissingInclude(t *testing.T) {
	// a compile that stops at an #include shows no uses: that is no answer
	stop := []build.Diagnostic{{File: "a.c", Line: 3, Severity: "error", Message: "linux/x.h: No such file or directory"}}
	if err := MissingInclude(stop); err == nil {
		t.Errorf("MissingInclude(%v) = nil, want an error", stop)
	}
	other := []build.Diagnostic{{File: "a.c", Line: 9, Severity: "error", Message: "'x' undeclared (first use in this function)"},
		{File: "a.c", Line: 1, Severity: "note", Message: "b.h: No such file or directory"}}
	if err := MissingInclude(other); err != nil {
		t.Errorf("MissingInclude(%v) = %v, want nil", other, err)
	}
}
