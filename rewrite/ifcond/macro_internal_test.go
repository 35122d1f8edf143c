package ifcond

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/kbuild"
)

// A member under a condition the config cannot decide is the same member
// before and after only while the patch leaves the condition's macros
// alone: "#if PORT_HAVE_EXT" with PORT_HAVE_EXT changed from 0 to 1 adds
// the member.
func TestUnknownConditionNamingChangedMacro(t *testing.T) {
	cfg, err := kbuild.ParseConfig([]byte("CONFIG_64BIT=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := ast.Parse("port.h", []byte("struct port {\n\tu32 id;\n#if PORT_HAVE_EXT\n\tunsigned long ext;\n#endif\n};\n"))
	ms := f.Struct("port").Members
	if _, why := preprocessed(cfg, ms, nil, nil); why != "" {
		t.Fatalf("unchanged macro: %s", why)
	}
	if _, why := preprocessed(cfg, ms, map[string]bool{"PORT_HAVE_EXT": true}, nil); why == "" {
		t.Errorf("a condition naming a macro the patch changes was taken for the same condition")
	}
}
