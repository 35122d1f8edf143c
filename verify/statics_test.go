package verify

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast/unit"
	"github.com/kprewrite/kprewrite/internal/rcache"
)

// TestStaticsRenumberedUniqueIDs: an added #include or pr_debug() earlier
// in a unit renumbers every later __UNIQUE_ID_ (dynamic debug's
// descriptors); both builders correlate those statics without the
// counter, so the renumbering is no change. A static that is really new
// still is.
func TestStaticsRenumberedUniqueIDs(t *testing.T) {
	dd := func(n string, line int) unit.Static {
		return unit.Static{Name: "__UNIQUE_ID_ddebug" + n, Type: "static struct _ddebug __UNIQUE_ID_ddebug" + n, File: "drivers/mmc/core/block.c", Line: line}
	}
	base := map[string][]unit.Static{"mmc_blk_cqe_recovery": {dd("331", 1581), dd("333", 1588)}}
	renumbered := map[string][]unit.Static{"mmc_blk_cqe_recovery": {dd("356", 1581), dd("358", 1588)}}
	if d := diffStatics(base, renumbered); len(d) != 0 {
		t.Errorf("a renumbering is reported as a change: %v", d)
	}
	gained := map[string][]unit.Static{"mmc_blk_cqe_recovery": {dd("356", 1581), dd("358", 1588), dd("360", 1590)}}
	d := diffStatics(base, gained)
	if len(d) != 1 || !d[0].gained || d[0].s.Line != 1590 {
		t.Errorf("a third descriptor: %v, want one gained at line 1590", d)
	}
	once := map[string][]unit.Static{"mmc_blk_cqe_recovery": {dd("331", 1581), dd("333", 1588), {Name: "__already_done", Type: "static bool __already_done", File: "drivers/mmc/core/block.c", Line: 1600}}}
	if d := diffStatics(base, once); len(d) != 1 || d[0].s.Name != "__already_done" {
		t.Errorf("a print-once flag: %v, want it gained", d)
	}
}

// TestMutableStaticsCached: the static locals of a preprocessed unit come
// from the result cache on the next run (parsing a kernel unit takes
// seconds), and are the same.
func TestMutableStaticsCached(t *testing.T) {
	rc := rcache.Open(t.TempDir(), nil)
	ctx := rcache.With(context.Background(), rc)
	src := []byte("int f(void)\n{\n\tstatic int calls;\n\tstatic const int table[2] = { 1, 2 };\n\treturn calls++ + table[0];\n}\n")
	first, err := mutableStatics(ctx, "a.c", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(first["f"]) != 1 || first["f"][0].Name != "calls" {
		t.Fatalf("statics of f = %v, want calls only (table is const)", first["f"])
	}
	second, err := mutableStatics(ctx, "a.c", src)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("from the cache (-first +second):\n%s", diff)
	}
	if hits, _, stored := rc.Stats(); hits != 1 || stored != 1 {
		t.Errorf("result cache: %d hits, %d stored, want 1 and 1", hits, stored)
	}
}
