package build

import (
	"context"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/kbuild"
)

// TestOverlayCompile compiles a file of the seed tree twice: as it is, and
// with a header replaced through the overlay, which must make gcc see the
// new header (and report the error at the tree-relative path).
func TestOverlayCompile(t *testing.T) {
	env, err := kbuild.Open("../testdata/kernels/seed", "", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := &Compiler{Env: env, Dir: t.TempDir(), Jobs: 2}
	base := &Variant{Name: "base", Files: map[string][]byte{}}
	rs, err := c.Compile(context.Background(), base, []string{"drivers/net/bonding/bond_main.c", "net/core/dev.c"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Failed || r.Object == "" {
			t.Fatalf("%s failed: %v", r.Source, r.Diagnostics)
		}
	}
	if rs[0].Module != "bonding" || rs[1].Module != "" {
		t.Errorf("modules %q %q", rs[0].Module, rs[1].Module)
	}
	hdr, _ := env.Tree.ReadFile("include/net/bonding.h")
	broken := strings.Replace(string(hdr), "should_notify:1;", "should_notify_renamed:1;", 1)
	v := &Variant{Name: "vari", Files: map[string][]byte{"include/net/bonding.h": []byte(broken)}}
	rs, err = c.Compile(context.Background(), v, []string{"drivers/net/bonding/bond_main.c"}, Options{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Failed {
		t.Fatal("the overlay header was not used")
	}
	found := false
	for _, d := range Errors(rs) {
		if d.File == "drivers/net/bonding/bond_main.c" && strings.Contains(d.Message, "has no member named 'should_notify'") {
			found = true
		}
	}
	if !found {
		t.Errorf("no type-exact error at the use site: %v", rs[0].Diagnostics)
	}
}
