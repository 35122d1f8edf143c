package verify

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast/unit"
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
