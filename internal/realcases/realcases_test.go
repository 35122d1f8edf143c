package realcases

import (
	"os"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/internal/realkernel"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// TestMaterialize lays every case out and checks the upstream patch
// applies to its base tree, and that the pristine tree is left alone.
func TestMaterialize(t *testing.T) {
	src, _ := realkernel.Tree(t)
	for _, c := range All {
		t.Run(c.Name, func(t *testing.T) {
			before, _ := os.ReadFile(src + "/include/net/bonding.h")
			m, err := c.Materialize(src, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(m.Patch)
			set, err := patch.Read(m.Patch, data, patch.Options{Strip: -1})
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := tree.Open(m.Tree)
			if _, err := set.Patches[0].Apply(tr); err != nil {
				t.Fatal(err)
			}
			after, _ := os.ReadFile(src + "/include/net/bonding.h")
			if string(before) != string(after) || strings.Contains(string(after), ".kprewrite-new") {
				t.Fatal("the pristine tree changed")
			}
		})
	}
}
