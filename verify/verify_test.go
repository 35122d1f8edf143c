package verify

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/realkernel"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
)

const seed = "../testdata/kernels/seed"

// edit returns a one-patch diff of the seed tree with old replaced by new
// in each of the given files.
func edit(t *testing.T, root string, edits ...[3]string) *patch.Patch {
	t.Helper()
	p := &patch.Patch{}
	files := map[string][]byte{}
	var order []string
	for _, e := range edits {
		d, ok := files[e[0]]
		if !ok {
			var err error
			d, err = os.ReadFile(filepath.Join(root, e[0]))
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, e[0])
		}
		if !strings.Contains(string(d), e[1]) {
			t.Fatalf("%s: %q not found", e[0], e[1])
		}
		files[e[0]] = []byte(strings.Replace(string(d), e[1], e[2], 1))
	}
	for _, f := range order {
		old, _ := os.ReadFile(filepath.Join(root, f))
		p.Files = append(p.Files, patch.Diff(f, old, files[f]))
	}
	return p
}

func seedEnv(t *testing.T) *kbuild.Env {
	t.Helper()
	env, err := kbuild.Open(seed, "", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// seedCopy copies the seed tree, appends text to the given files of the
// copy (path, text pairs) and opens it.
func seedCopy(t *testing.T, appends ...string) (string, *kbuild.Env) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(seed)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(appends); i += 2 {
		f := filepath.Join(dir, appends[i])
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		d, _ := os.ReadFile(f) // a new file starts empty
		if err := os.WriteFile(f, append(d, []byte(appends[i+1])...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, err := kbuild.Open(dir, "", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return dir, env
}

func check(r *Report, name string) Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{Name: name, Summary: "missing"}
}

func run(t *testing.T, env *kbuild.Env, rw, orig *patch.Patch, split string) *Report {
	t.Helper()
	r, err := Run(context.Background(), Input{Env: env, Rewritten: rw, Original: orig, SplitDir: split, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A member inserted in the middle of struct slave: the layout proof fails
// with the exact offsets.
func TestLayoutFailureMiddleMember(t *testing.T) {
	env := seedEnv(t)
	p := edit(t, seed,
		[3]string{"include/net/bonding.h", "\tint    delay;\n", "\tint    delay;\n\tvoid   *cookie;\n"},
		[3]string{"drivers/net/bonding/bond_main.c", "\tslave->dev = slave_dev;\n", "\tslave->dev = slave_dev;\n\tslave->cookie = NULL;\n"})
	r := run(t, env, p, nil, "")
	if r.OK {
		t.Fatal("verify passed a layout change")
	}
	lc := check(r, "layout")
	if lc.OK {
		t.Fatalf("layout check passed: %+v", lc)
	}
	var slave *Layout
	for i := range r.Layouts {
		if r.Layouts[i].Struct == "struct slave" {
			slave = &r.Layouts[i]
		}
	}
	if slave == nil {
		t.Fatalf("no layout verdict for struct slave: %+v", r.Layouts)
	}
	got := strings.Join(slave.Rewritten, "; ")
	for _, want := range []string{"size 248 -> 256", "cookie new at 24 (8 bytes)", "last_link_up offset 24 -> 32", "link offset 176 -> 184"} {
		if !strings.Contains(got, want) {
			t.Errorf("layout diff %q lacks %q", got, want)
		}
	}
	if check(r, "headers").OK {
		t.Errorf("header change not caught")
	}
}

// A changed inline in a header is caught by the header check.
func TestHeaderChangeCaught(t *testing.T) {
	env := seedEnv(t)
	p := edit(t, seed, [3]string{"include/net/bonding.h", "\treturn !slave->backup;\n", "\treturn !slave->backup && !slave->inactive;\n"})
	r := run(t, env, p, nil, "")
	hc := check(r, "headers")
	if hc.OK || r.OK || !strings.Contains(strings.Join(hc.Details, "\n"), "bond_is_active_slave") {
		t.Errorf("header check: %+v", hc)
	}
	if !check(r, "layout").OK {
		t.Errorf("layout check failed on a layout-neutral change: %+v", check(r, "layout"))
	}
}

// A clean patch (a function body in a .c file) passes, and splits per object.
func TestCleanPatchPasses(t *testing.T) {
	env := seedEnv(t)
	p := edit(t, seed,
		[3]string{"net/core/dev.c", "\tif (dev == upper_dev)\n\t\treturn -EBUSY;\n", "\tif (dev == upper_dev || !upper_dev)\n\t\treturn -EBUSY;\n"},
		[3]string{"drivers/net/bonding/bond_procfs.c", "Link Failure Count: %u", "Link failures: %u"})
	split := t.TempDir()
	r := run(t, env, p, nil, split)
	if !r.OK {
		var b strings.Builder
		r.WriteText(&b)
		t.Fatalf("clean patch failed:\n%s", b.String())
	}
	funcs := map[string]string{}
	for _, o := range r.Objects {
		funcs[o.Object] = strings.Join(o.Rewritten, ",")
	}
	if funcs["vmlinux"] != "netdev_master_upper_dev_link" || funcs["bonding"] != "bond_info_show_slave" {
		t.Errorf("changed functions %v", funcs)
	}
	if len(r.Splits) != 2 || r.Splits[0].Object != "vmlinux" || r.Splits[1].Object != "bonding" {
		t.Fatalf("splits %+v", r.Splits)
	}
	for _, s := range r.Splits {
		if _, err := os.Stat(s.File); err != nil {
			t.Error(err)
		}
	}
}

// The upstream patch changes a header inline; a "rewritten" patch that only
// keeps the .c part misses the callers: the function check says which.
func TestMissingFunctionsCaught(t *testing.T) {
	env := seedEnv(t)
	orig := edit(t, seed,
		[3]string{"include/net/bonding.h", "\tslave->link_new_state = state;\n", "\tif (state != slave->link)\n\t\tslave->link_new_state = state;\n"},
		[3]string{"drivers/net/bonding/bond_procfs.c", "Link Failure Count: %u", "Link failures: %u"})
	rw := edit(t, seed, [3]string{"drivers/net/bonding/bond_procfs.c", "Link Failure Count: %u", "Link failures: %u"})
	r := run(t, env, rw, orig, "")
	fc := check(r, "functions")
	if fc.OK {
		t.Fatalf("function check passed: %+v", fc)
	}
	var missing []string
	for _, o := range r.Objects {
		missing = append(missing, o.Missing...)
	}
	got := strings.Join(missing, ",")
	for _, want := range []string{"bond_3ad_handle_link_change", "bond_enslave", "bond_mii_monitor"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q not reported (got %s)", want, got)
		}
	}
}

// A rewritten patch that adds static local data the upstream patch does
// not (here hidden in pr_info_once) fails the statics check, which names
// the function and line; the same data in both patches passes.
func TestStaticLocalsCaught(t *testing.T) {
	env := seedEnv(t)
	const file = "drivers/net/bonding/bond_procfs.c"
	once := [3]string{file, "\tpr_info(\"Link Failure Count: %u\\n\", slave->link_failure_count);\n",
		"\tpr_info(\"Link Failure Count: %u\\n\", slave->link_failure_count);\n\tpr_info_once(\"first slave shown\\n\");\n"}
	plain := [3]string{file, "Link Failure Count: %u", "Link failures: %u"}
	r := run(t, env, edit(t, seed, once), edit(t, seed, plain), "")
	sc := check(r, "statics")
	if sc.OK || r.OK {
		t.Fatalf("statics check passed a new static local: %+v", sc)
	}
	got := strings.Join(sc.Details, "\n")
	for _, want := range []string{"bond_procfs.c: bond_info_show_slave gains static bool __print_once", "bond_procfs.c:10", "the upstream patch does not do this"} {
		if !strings.Contains(got, want) {
			t.Errorf("statics details lack %q:\n%s", want, got)
		}
	}
	r = run(t, env, edit(t, seed, once), edit(t, seed, once), "")
	if sc := check(r, "statics"); !sc.OK || !strings.Contains(strings.Join(sc.Details, "\n"), "so does the upstream patch") {
		t.Errorf("statics check on the upstream patch's own static: %+v", sc)
	}
	r = run(t, env, edit(t, seed, plain), nil, "")
	if sc := check(r, "statics"); !sc.OK || !strings.Contains(sc.Summary, "no function gains or loses") {
		t.Errorf("statics check on a patch without statics: %+v", sc)
	}
}

// On Debian's 6.1 tree: the upstream-style patch that appends a member to
// struct slave (the klp-build case) is refuted with the exact layout change.
func TestRealTreeSlaveGrowthRefuted(t *testing.T) {
	src, build := realkernel.Tree(t)
	env, err := kbuild.Open(src, filepath.Join(build, ".config"), kbuild.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := realkernel.NewEdits(t, src).
		Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n", "\tstruct rtnl_link_stats64 slave_stats;\n\tu32 enslave_seq;\n").
		Replace("drivers/net/bonding/bond_procfs.c", "\tseq_printf(seq, \"Slave queue ID: %d\\n\", slave->queue_id);\n",
			"\tseq_printf(seq, \"Slave queue ID: %d\\n\", slave->queue_id);\n\tseq_printf(seq, \"Enslave sequence: %u\\n\", slave->enslave_seq);\n").
		Patch("bonding: show the enslave sequence")
	set, err := patch.Read("grow.patch", text, patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, env, set.Patches[0], nil, "")
	if r.OK || check(r, "layout").OK {
		t.Fatal("layout growth not refuted")
	}
	if !check(r, "compile").OK || !check(r, "style").OK {
		t.Errorf("compile/style: %+v %+v", check(r, "compile"), check(r, "style"))
	}
	re := regexp.MustCompile(`^size (\d+) -> (\d+); enslave_seq new at (\d+) \(4 bytes\)$`)
	found := false
	for _, l := range r.Layouts {
		if l.Struct == "struct slave" {
			m := re.FindStringSubmatch(strings.Join(l.Rewritten, "; "))
			if m == nil {
				t.Fatalf("struct slave diff: %v", l.Rewritten)
			}
			found = m[1] == m[3]
		}
	}
	if !found {
		t.Errorf("no exact verdict for struct slave: %+v", r.Layouts)
	}
}

// A compile that fails after many warnings is a failure: the cap on kept
// diagnostics must not push its error out.
func TestCompileFailsAfterWarnings(t *testing.T) {
	env := seedEnv(t)
	warn := strings.Repeat("#warning noisy\n", 25)
	p := edit(t, seed, [3]string{"net/core/dev.c", "\tif (dev == upper_dev)\n", warn + "\tthis is not C;\n\tif (dev == upper_dev)\n"})
	r := run(t, env, p, nil, "")
	if r.OK || check(r, "compile").OK {
		t.Fatalf("a patch that does not compile passed: %+v", check(r, "compile"))
	}
}

// A patch of which the config compiles nothing proves nothing: the report
// is not OK, and says it is not proven rather than failed.
func TestNothingCompiledIsNotProven(t *testing.T) {
	cfg, err := os.ReadFile(filepath.Join(seed, ".config"))
	if err != nil {
		t.Fatal(err)
	}
	noProc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(noProc, []byte(strings.Replace(string(cfg), "CONFIG_PROC_FS=y", "# CONFIG_PROC_FS is not set", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := kbuild.Open(seed, noProc, kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p := edit(t, seed, [3]string{"drivers/net/bonding/bond_procfs.c", "Link Failure Count: %u", "Link failures: %u"})
	r := run(t, env, p, nil, "")
	if r.OK {
		t.Fatalf("nothing compiled, yet the report is OK: %+v", r.Checks)
	}
	if !r.NotProven() {
		t.Errorf("NotProven() is false for a run that only skipped: %+v", r.Checks)
	}
	var b strings.Builder
	r.WriteText(&b)
	if !strings.HasPrefix(b.String(), "kprewrite verify: NOT PROVEN") {
		t.Errorf("verdict: %q", strings.SplitN(b.String(), "\n", 2)[0])
	}
}

// When the upstream patch does not compile, the functions it changes are
// unknown: the functions check cannot pass.
func TestUpstreamCompileFailureNotProven(t *testing.T) {
	env := seedEnv(t)
	fix := [3]string{"net/core/dev.c", "\tif (dev == upper_dev)\n\t\treturn -EBUSY;\n", "\tif (dev == upper_dev || !upper_dev)\n\t\treturn -EBUSY;\n"}
	rw := edit(t, seed, fix)
	orig := edit(t, seed, fix, [3]string{"drivers/net/bonding/bond_procfs.c", "Link Failure Count: %u", "Link Failure Count: %u\" broken"})
	r := run(t, env, rw, orig, "")
	if fc := check(r, "functions"); fc.OK || r.OK {
		t.Errorf("functions check passed although the upstream patch does not compile: %+v", fc)
	}
}

// A base tree that does not compile is no evidence about a patch: verify
// stops with a compile failure of the tree (exit 2), not a verdict.
func TestBrokenBaseTreeStops(t *testing.T) {
	dir, env := seedCopy(t, "net/core/dev.c", "\nthis is not C;\n")
	p := edit(t, dir, [3]string{"net/core/dev.c", "\tif (dev == upper_dev)\n\t\treturn -EBUSY;\n", "\tif (dev == upper_dev || !upper_dev)\n\t\treturn -EBUSY;\n"})
	_, err := Run(context.Background(), Input{Env: env, Rewritten: p, Jobs: 2})
	if err == nil || kperr.KindOf(err) != kperr.Compile || !strings.Contains(err.Error(), "base tree does not compile") {
		t.Errorf("verify of a patch on a broken tree: %v (kind %v)", err, kperr.KindOf(err))
	}
}

// A notrace function that gcc emits only as a clone (scale.constprop.0)
// changes: the ftrace check sees the clone, which has no ftrace entry.
func TestFtraceChecksClones(t *testing.T) {
	extra := "\nstatic __attribute__((__noinline__)) notrace int dev_scale(int x, int k)\n{\n\treturn x * k + 3;\n}\n\nint dev_scaled(int x)\n{\n\treturn dev_scale(x, 7) + dev_scale(x + 1, 7);\n}\n"
	dir, env := seedCopy(t, "net/core/dev.c", extra)
	p := edit(t, dir, [3]string{"net/core/dev.c", "\treturn x * k + 3;\n", "\treturn x * k + 5;\n"})
	r := run(t, env, p, nil, "")
	fc := check(r, "ftrace")
	if fc.OK || !strings.Contains(strings.Join(fc.Details, "\n"), "dev_scale") {
		t.Errorf("ftrace check of a changed notrace clone: %+v", fc)
	}
}

// A .c file the config builds only through another's #include (as
// kernel/sched/build_policy.c includes rt.c) is compiled through its
// includer; a Makefile change is out of verify's scope and fails.
func TestIncludedSourceAndScope(t *testing.T) {
	dir, env := seedCopy(t, "net/core/dev.c", "\n#include \"dev_extra.c\"\n", "net/core/dev_extra.c", "int dev_extra(int x)\n{\n\treturn x + 1;\n}\n")
	r := run(t, env, edit(t, dir, [3]string{"net/core/dev_extra.c", "\treturn x + 1;\n", "\treturn x + undeclared;\n"}), nil, "")
	if cc := check(r, "compile"); cc.OK || r.OK {
		t.Errorf("a broken .c file included by a built one passed: %+v", cc)
	}
	r = run(t, env, edit(t, dir, [3]string{"net/core/Makefile", "", "# comment\n"}), nil, "")
	if sc := check(r, "scope"); sc.OK || r.OK {
		t.Errorf("a Makefile change passed verify: %+v", sc)
	}
}

// A change to __init code is safe but does not re-run: the ftrace check
// says so (and does not count it as a function without an entry).
func TestInitCodeNoted(t *testing.T) {
	extra := "\nint dev_boot_setting;\n\nstatic int __attribute__((__section__(\".init.text\"))) dev_boot_setup(void)\n{\n\tdev_boot_setting = 1;\n\treturn 0;\n}\n\nint (*dev_boot_hook)(void) = dev_boot_setup;\n"
	dir, env := seedCopy(t, "net/core/dev.c", extra)
	r := run(t, env, edit(t, dir, [3]string{"net/core/dev.c", "\tdev_boot_setting = 1;\n", "\tdev_boot_setting = 2;\n"}), nil, "")
	if fc := check(r, "ftrace"); !strings.Contains(strings.Join(fc.Details, "\n"), "init code that already ran") {
		t.Errorf("a changed __init function is not noted: %+v", fc)
	}
}

// A patch that changes the initializer of a global (or points a table at
// another function) fails the data check: the running kernel keeps the old
// bytes.
func TestDataChangeFails(t *testing.T) {
	dir, env := seedCopy(t, "net/core/dev.c", "\nint dev_budget = 64;\nstatic int dev_weight(void)\n{\n\treturn 1;\n}\nstatic int dev_weight2(void)\n{\n\treturn 2;\n}\nint (*const dev_weigher[])(void) = { dev_weight, dev_weight2 };\n")
	r := run(t, env, edit(t, dir, [3]string{"net/core/dev.c", "int dev_budget = 64;", "int dev_budget = 300;"}), nil, "")
	if dc := check(r, "data"); dc.OK || !strings.Contains(strings.Join(dc.Details, "\n"), "dev_budget") {
		t.Errorf("a changed initializer passed the data check: %+v", dc)
	}
	r = run(t, env, edit(t, dir, [3]string{"net/core/dev.c", "{ dev_weight, dev_weight2 }", "{ dev_weight2, dev_weight }"}), nil, "")
	if dc := check(r, "data"); dc.OK || !strings.Contains(strings.Join(dc.Details, "\n"), "dev_weigher") {
		t.Errorf("a table pointed at other functions passed the data check: %+v", dc)
	}
	r = run(t, env, edit(t, dir, [3]string{"net/core/dev.c", "\treturn 2;\n", "\treturn 3;\n"}), nil, "")
	if dc := check(r, "data"); !dc.OK {
		t.Errorf("a function change failed the data check: %+v", dc)
	}
}

// A member inserted in the middle of a struct a .c file defines (a
// driver's private state): the layout proof fails as for a header's.
func TestLayoutOfStructInSourceFile(t *testing.T) {
	dir, env := seedCopy(t, "drivers/net/bonding/bond_main.c", `
struct bond_probe_state {
	int	tries;
	long	last;
};

long bond_probe_last(struct bond_probe_state *s)
{
	return s->last + s->tries;
}
`)
	p := edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\tint\ttries;\n", "\tint\ttries;\n\tint\tlimit;\n\tvoid\t*owner;\n"})
	r := run(t, env, p, nil, "")
	lc := check(r, "layout")
	if r.OK || lc.OK {
		t.Fatalf("verify passed a layout change of a .c file's struct: %+v", lc)
	}
	if !strings.Contains(strings.Join(lc.Details, "\n"), "struct bond_probe_state") || !strings.Contains(strings.Join(lc.Details, "\n"), "last offset 8 -> 16") {
		t.Errorf("layout details %q do not name struct bond_probe_state and its moved member", lc.Details)
	}
}

// A constant inserted in the middle of an enum (uinput's UIST_DESTROYING
// before UIST_CREATED): the enums check fails; one appended passes.
func TestEnumValuesCaught(t *testing.T) {
	dir, env := seedCopy(t, "drivers/net/bonding/bond_main.c", `
enum bond_probe_state {
	BOND_PROBE_NEW,
	BOND_PROBE_SETUP,
	BOND_PROBE_CREATED,
};

int bond_probe_ready(enum bond_probe_state s)
{
	return s == BOND_PROBE_CREATED;
}
`)
	mid := edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\tBOND_PROBE_SETUP,\n", "\tBOND_PROBE_SETUP,\n\tBOND_PROBE_DESTROYING,\n"})
	r := run(t, env, mid, nil, "")
	ec := check(r, "enums")
	if r.OK || ec.OK || !strings.Contains(strings.Join(ec.Details, "\n"), "BOND_PROBE_CREATED is 2 in the running kernel and 3") {
		t.Errorf("a value moved, yet: ok %v, enums %+v", r.OK, ec)
	}
	end := edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\tBOND_PROBE_CREATED,\n", "\tBOND_PROBE_CREATED,\n\tBOND_PROBE_DESTROYING,\n"})
	if ec := check(run(t, env, end, nil, ""), "enums"); !ec.OK {
		t.Errorf("a constant appended fails the enums check: %+v", ec)
	}
}
