package ifcond

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// TestFlexArrayRespelled: "__DECLARE_FLEX_ARRAY(T, name);" reads as the
// "T name[];" it stands for, so respelling a flexible array member (6.1's
// uapi change) is a no-op; another member is not.
func TestFlexArrayRespelled(t *testing.T) {
	t.Parallel()
	texts := func(src string) []string {
		f := ast.Parse("k.h", []byte(src))
		var out []string
		for _, m := range f.Struct("kvm_msrs").Members {
			out = append(out, memberText(m))
		}
		return out
	}
	old := texts("struct kvm_msrs {\n\t__u32 nmsrs;\n\t__u32 pad;\n\n\tstruct kvm_msr_entry entries[];\n};\n")
	respelled := texts("struct kvm_msrs {\n\t__u32 nmsrs;\n\t__u32 pad;\n\n\t__DECLARE_FLEX_ARRAY(struct kvm_msr_entry, entries);\n};\n")
	other := texts("struct kvm_msrs {\n\t__u32 nmsrs;\n\t__u32 pad;\n\n\t__DECLARE_FLEX_ARRAY(struct kvm_msr_entry, more);\n};\n")
	if len(old) != 3 || len(respelled) != 3 || old[2] != respelled[2] {
		t.Errorf("respelled flexible array differs:\n%q\n%q", old, respelled)
	}
	if len(other) == 3 && other[2] == old[2] {
		t.Errorf("a renamed flexible array reads the same: %q", other[2])
	}
}
