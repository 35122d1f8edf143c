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

// TestMaterializeSeries lays every series out: its patches apply in order
// on the pristine tree and end where its cumulative patch ends.
func TestMaterializeSeries(t *testing.T) {
	src, _ := realkernel.Tree(t)
	for _, s := range AllSeries {
		t.Run(s.Name, func(t *testing.T) {
			m, err := s.Materialize(src, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			base, err := tree.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			apply := func(ov *tree.Overlay, f string) {
				data, _ := os.ReadFile(f)
				set, err := patch.Read(f, data, patch.Options{Strip: -1})
				if err != nil || len(set.Patches) != 1 {
					t.Fatalf("%s: %v", f, err)
				}
				res, err := set.Patches[0].Apply(ov)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				for _, r := range res {
					ov.Set(r.Path, r.New)
				}
			}
			inOrder, whole := tree.NewOverlay(base), tree.NewOverlay(base)
			for _, f := range m.Patches {
				apply(inOrder, f)
			}
			apply(whole, m.Cumulative)
			for _, f := range m.Files {
				a, _ := inOrder.ReadFile(f)
				b, _ := whole.ReadFile(f)
				if string(a) != string(b) {
					t.Errorf("%s: the patches in order and the cumulative patch differ", f)
				}
			}
		})
	}
}
