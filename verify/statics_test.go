package verify

import (
	"context"
	"sort"
	"strconv"
	"strings"
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

// bondNoteEvent is a function with static locals appended to bond_main.c
// of a seed copy.
const bondNoteEvent = `
int bond_note_event(const char *what)
{
	static char last[40];
	static int budget = 5;
	int i;

	if (budget <= 0)
		return 0;
	budget--;
	for (i = 0; i < (int)sizeof(last) - 1 && what[i]; i++)
		last[i] = what[i];
	last[i] = 0;
	return budget + last[0];
}
`

// TestStaticChangedCaught: a patch that keeps a static local's name in its
// function but changes its initializer or its size fails the statics
// check (the builders pair it with the running kernel's copy by name, so
// the new declaration never takes effect), naming the static, its
// function and the step; a change that leaves the statics as they are
// passes.
func TestStaticChangedCaught(t *testing.T) {
	const file = "drivers/net/bonding/bond_main.c"
	dir, env := seedCopy(t, file, bondNoteEvent)
	for _, c := range []struct {
		name     string
		old, new string
		want     []string
	}{
		{"initializer", "\tstatic int budget = 5;\n", "\tstatic int budget = 10;\n",
			[]string{"bond_main.c: bond_note_event's static local budget (budget.", "its initial contents change", "give it a new name", "or keep the old declaration"}},
		{"size", "\tstatic char last[40];\n", "\tstatic char last[64];\n",
			[]string{"bond_main.c: bond_note_event's static local last (last.", "its size changes from 40 to 64 bytes", "pair it with the running kernel's copy by name"}},
	} {
		r := run(t, env, edit(t, dir, [3]string{file, c.old, c.new}), nil, "")
		sc := check(r, "statics")
		if sc.OK || r.OK {
			t.Errorf("%s: statics check passed a changed static local: %+v", c.name, sc)
			continue
		}
		got := strings.Join(sc.Details, "\n")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: statics details lack %q:\n%s", c.name, w, got)
			}
		}
		if !strings.Contains(sc.Summary, "1 static local kept by name changes") {
			t.Errorf("%s: summary %q", c.name, sc.Summary)
		}
	}
	// the function changes, its statics do not
	r := run(t, env, edit(t, dir, [3]string{file, "\tif (budget <= 0)\n\t\treturn 0;\n", "\tif (budget <= 0 || !what)\n\t\treturn 0;\n"}), nil, "")
	if sc := check(r, "statics"); !sc.OK || len(sc.Details) != 0 {
		t.Errorf("statics check of a function whose statics stay: %+v", sc)
	}
}

// TestPairStatics: statics pair by function and name, in gcc's order when
// a function has several of one name, then by name alone; a group whose
// count changed stays unpaired (the count check reports it).
func TestPairStatics(t *testing.T) {
	s := func(sym, fn string) staticObject {
		name, n, _ := splitStatic(sym)
		return staticObject{sym: sym, name: name, n: n, fn: fn}
	}
	a := []staticObject{s("n.12", "f"), s("n.3", "f"), s("n.5", "g"), s("buf.7", "h"), s("x.1", "f"), s("x.2", "f"), s("__UNIQUE_ID_ddebug331.9", "f")}
	b := []staticObject{s("n.4", "f"), s("n.20", "f"), s("n.6", "g"), s("buf.8", "h,k"), s("x.1", "f"), s("__UNIQUE_ID_ddebug356.2", "f")}
	var got []string
	for _, p := range pairStatics(a, b) {
		got = append(got, p[0].sym+"="+p[1].sym)
	}
	sort.Strings(got)
	want := []string{"__UNIQUE_ID_ddebug331.9=__UNIQUE_ID_ddebug356.2", "buf.7=buf.8", "n.12=n.20", "n.3=n.4", "n.5=n.6"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pairs (-want +got):\n%s", d)
	}
	if _, _, ok := splitStatic("bond_note_event"); ok {
		t.Error("a plain name split as NAME.N")
	}
}

// TestStaticsRenumberedSections: with -fdata-sections each static has a
// section named after it (".rodata.symbols.563"); a static lost elsewhere
// in the file renumbers it (".rodata.symbols.562"), which is no change.
// A static that moves from .data to .rodata still is.
func TestStaticsRenumberedSections(t *testing.T) {
	st := func(n int, kind string) staticObject {
		sym := "symbols." + strconv.Itoa(n)
		return staticObject{sym: sym, name: "symbols", n: n, fn: "trace_raw_output_kvm_exit", section: kind + "." + sym, size: 48}
	}
	base := map[string][]staticObject{"x.c": {st(563, ".rodata")}}
	if d := changedStatics([]string{"x.c"}, base, map[string][]staticObject{"x.c": {st(562, ".rodata")}}); len(d) != 0 {
		t.Errorf("a renumbered section is reported: %v", d)
	}
	d := changedStatics([]string{"x.c"}, base, map[string][]staticObject{"x.c": {st(562, ".data")}})
	if len(d) != 1 || !strings.Contains(d[0], "(.rodata.symbols.563 -> .data.symbols.562)") {
		t.Errorf("a static moved to .data: %v", d)
	}
}
