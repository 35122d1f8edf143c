package hazard

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/change"
)

// kinds returns the kind and subject of each hazard of one file's change.
func kinds(t *testing.T, path, old, new string) map[Kind]string {
	t.Helper()
	out := map[Kind]string{}
	for _, h := range Analyze([]*change.File{change.Compute(path, []byte(old), []byte(new))}) {
		if h.File != path {
			t.Errorf("hazard %+v names file %q, want %q", h, h.File, path)
		}
		out[h.Kind] = h.Subject
	}
	return out
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, path, old, new string
		kind                 Kind
		subject              string
	}{
		{"struct grows", "include/linux/s.h",
			"struct s {\n\tint a;\n};\n", "struct s {\n\tint a;\n\tint b;\n};\n", StructLayout, "struct s.b"},
		{"header inline", "include/linux/s.h",
			"static inline int f(int x)\n{\n\treturn x;\n}\n", "static inline int f(int x)\n{\n\treturn x + 1;\n}\n", HeaderInline, "f"},
		{"header macro", "include/linux/s.h",
			"#define LIMIT 4\n", "#define LIMIT 8\n", HeaderMacro, "LIMIT"},
		{"static local", "kernel/a.c",
			"int f(void)\n{\n\treturn 0;\n}\n", "int f(void)\n{\n\tstatic int calls;\n\treturn calls++;\n}\n", StaticLocal, "f::calls"},
		{"init code", "kernel/a.c",
			"static int __init f(void)\n{\n\treturn 0;\n}\n", "static int __init f(void)\n{\n\treturn 1;\n}\n", InitCode, "f"},
		{"assembly", "arch/x86/entry/entry_64.S", "nop\n", "ret\n", NotLivepatchable, ""},
		{"include removed from a header", "include/uapi/linux/kvm.h",
			"#include <linux/stddef.h>\n#include <linux/types.h>\n", "#include <linux/types.h>\n", HeaderOther, "linux/stddef.h"},
		{"member attribute", "include/linux/s.h",
			"struct s {\n\tint a;\n\tu32 seq;\n};\n", "struct s {\n\tint a;\n\tu32 seq __aligned(16);\n};\n", StructLayout, "struct s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := kinds(t, c.path, c.old, c.new)
			subj, ok := got[c.kind]
			if !ok {
				t.Fatalf("no %s hazard in %v", c.kind, got)
			}
			if c.subject != "" && subj != c.subject {
				t.Errorf("%s subject %q, want %q", c.kind, subj, c.subject)
			}
		})
	}
	// a header's removed include is left to an engineer (samecode may prove
	// it changes no code); a .c file's is the compiler's to judge
	for _, h := range Analyze([]*change.File{change.Compute("include/linux/s.h", []byte("#include <linux/a.h>\n"), []byte("\n"))}) {
		if h.Kind == HeaderOther && !h.NeedsHuman() {
			t.Errorf("removed include in a header not left to an engineer: %+v", h)
		}
	}
	if got := kinds(t, "kernel/a.c", "#include <linux/a.h>\nint x;\n", "int x;\n"); len(got) != 0 {
		t.Errorf("removed include in a .c file: %v", got)
	}
	// a struct change the member model does not see needs an engineer
	for _, h := range Analyze([]*change.File{change.Compute("include/linux/s.h", []byte("struct s {\n\tint a;\n};\n"), []byte("struct s {\n\tint a;\n\tint a;\n};\n"))}) {
		if h.Kind != StructLayout || !h.NeedsHuman() || !strings.Contains(h.Reason, "a member declared again") {
			t.Errorf("repeated member: %+v", h)
		}
	}
	// a plain function change needs nothing
	if got := kinds(t, "kernel/a.c", "int f(void)\n{\n\treturn 0;\n}\n", "int f(void)\n{\n\treturn 1;\n}\n"); len(got) != 0 {
		t.Errorf("plain change: %v", got)
	}
}

func TestNotLivepatchablePath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"arch/x86/entry/entry_64.S":       true,
		"arch/x86/entry/vdso/vclock.c":    true,
		"drivers/net/bonding/bond_main.c": false,
		"include/net/bonding.h":           false,
		"arch/x86/realmode/rm/wakemain.c": true,
	} {
		if got := NotLivepatchablePath(p) != ""; got != want {
			t.Errorf("%s: %v, want %v (%q)", p, got, want, NotLivepatchablePath(p))
		}
	}
}

func TestManual(t *testing.T) {
	t.Parallel()
	h := &Hazard{Action: Manual("do it")}
	if h.Action != "manual: do it" || !h.NeedsHuman() {
		t.Errorf("%+v", h)
	}
	if (&Hazard{Action: "bitfield"}).NeedsHuman() {
		t.Error("a transform's action needs a human")
	}
}

// TestCleanupMacroInHeader: a new DEFINE_FREE in a header (no ';' after it)
// is a macro call that needs no engineer, and the prototype after it stays
// a prototype of its own.
func TestCleanupMacroInHeader(t *testing.T) {
	t.Parallel()
	old := "int device_add(struct device *dev);\n"
	new := "DEFINE_FREE(device_del, struct device *, if (_T) device_del(_T))\n" + old
	hs := Analyze([]*change.File{change.Compute("include/linux/device.h", []byte(old), []byte(new))})
	if len(hs) != 1 {
		t.Fatalf("got %d hazards, want 1: %v", len(hs), hs)
	}
	if h := hs[0]; h.Kind != HeaderOther || h.Action != "none" || !strings.Contains(h.Subject, "DEFINE_FREE") {
		t.Errorf("got %s %q action %q, want a header-other finding about DEFINE_FREE that needs nothing", h.Kind, h.Subject, h.Action)
	}
}

// TestChangedCleanupMacroInHeader: a DEFINE_FREE whose body changes
// changes every user: it still needs an engineer.
func TestChangedCleanupMacroInHeader(t *testing.T) {
	t.Parallel()
	old := "DEFINE_FREE(kfree, void *, if (_T) kfree(_T))\n"
	new := "DEFINE_FREE(kfree, void *, if (!IS_ERR_OR_NULL(_T)) kfree(_T))\n"
	for _, h := range Analyze([]*change.File{change.Compute("include/linux/slab.h", []byte(old), []byte(new))}) {
		if h.Change.Kind == change.CallAdded && !strings.Contains(h.Action, "new name") {
			t.Errorf("%s %q: action %q, want a new name for the changed cleanup helper", h.Kind, h.Subject, h.Action)
		}
	}
}

// TestAuto: the hazards a transform can rewrite as they are carry no
// transform's name (the driver predicts it from its registry), only what
// the engineer does when no transform takes them; the others are not Auto.
func TestAuto(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, path, old, new string
		kind                 Kind
		auto                 bool
	}{
		{"changed macro", "include/linux/s.h", "#define LIMIT 4\n", "#define LIMIT 8\n", HeaderMacro, true},
		{"removed macro", "include/linux/s.h", "#define LIMIT 4\n", "", HeaderMacro, false},
		{"new struct", "include/linux/s.h", "", "struct s {\n\tint a;\n};\n", HeaderDecl, true},
		{"new prototype", "include/linux/s.h", "", "int f(int x);\n", HeaderDecl, true},
		{"changed prototype", "include/linux/s.h", "int f(int x);\n", "int f(long x);\n", HeaderDecl, false},
		{"new extern", "include/linux/s.h", "", "extern int limit;\n", HeaderDecl, true},
		{"new include", "include/linux/s.h", "#include <linux/a.h>\n", "#include <linux/a.h>\n#include <linux/b.h>\n", HeaderOther, true},
		{"changed inline", "include/linux/s.h",
			"static inline int f(int x)\n{\n\treturn x;\n}\n", "static inline int f(int x)\n{\n\treturn x + 1;\n}\n", HeaderInline, false},
		{"syscall", "kernel/sys.c",
			"SYSCALL_DEFINE1(f, int, x)\n{\n\treturn x;\n}\n", "SYSCALL_DEFINE1(f, int, x)\n{\n\treturn -x;\n}\n", Syscall, true},
		{"struct grows", "include/linux/s.h",
			"struct s {\n\tint a;\n};\n", "struct s {\n\tint a;\n\tint b;\n};\n", StructLayout, false},
		{"enum of a .c file", "drivers/input/misc/uinput.c",
			"enum st { ST_NEW, ST_CREATED };\n", "enum st { ST_NEW, ST_DESTROYING, ST_CREATED };\n", SourceEnum, true},
		{"macro of a .c file sizing its struct", "drivers/hid/hid-elan.c",
			"#define LEN 8\nstruct s {\n\tu8 r[LEN];\n};\n", "#define LEN 9\nstruct s {\n\tu8 r[LEN];\n};\n", SourceMacro, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got []*Hazard
			for _, h := range Analyze([]*change.File{change.Compute(c.path, []byte(c.old), []byte(c.new))}) {
				if h.Kind == c.kind {
					got = append(got, h)
				}
			}
			if len(got) != 1 {
				t.Fatalf("got %d %s hazards, want 1", len(got), c.kind)
			}
			if h := got[0]; h.Auto != c.auto || !h.NeedsHuman() {
				t.Errorf("%s %q: auto %v, action %q; want auto %v and what the engineer does", h.Kind, h.Subject, h.Auto, h.Action, c.auto)
			}
		})
	}
}

// TestPrintOnce: a WARN_ON_ONCE (or pr_*_once) in a replaced function is a
// note, not work for an engineer: both builders give the replacement a
// fresh .data..once flag (kpatch-build's is_special_static, klp-build's
// copy of .data..once), so the message can appear once more, nothing else.
func TestPrintOnce(t *testing.T) {
	t.Parallel()
	old := "int f(int x)\n{\n\tWARN_ON_ONCE(x < 0);\n\treturn x;\n}\n"
	new := "int f(int x)\n{\n\tWARN_ON_ONCE(x < 0);\n\treturn x + 1;\n}\n"
	hs := Analyze([]*change.File{change.Compute("kernel/a.c", []byte(old), []byte(new))})
	if len(hs) != 1 {
		t.Fatalf("got %d hazards, want 1: %v", len(hs), hs)
	}
	if h := hs[0]; h.Kind != PrintOnce || h.NeedsHuman() || h.Action != "none" || !strings.Contains(h.Reason, "can appear once more") {
		t.Errorf("got %s %q action %q (%s), want a print-once note that needs nothing", h.Kind, h.Subject, h.Action, h.Reason)
	}
}

// TestNewEnum: a new enum in a header is a declaration header2c moves
// into its users (its lines would move the header's later lines);
// changing an existing one still needs an engineer (old code keeps the
// old values).
func TestNewEnum(t *testing.T) {
	t.Parallel()
	old := "enum a {\n\tA_X,\n\tA_Y,\n};\n"
	added := old + "enum b {\n\tB_X,\n\tB_COUNT\n};\n"
	for _, h := range Analyze([]*change.File{change.Compute("include/linux/e.h", []byte(old), []byte(added))}) {
		if h.Kind != HeaderDecl || !h.Auto || !strings.Contains(h.Reason, "a new enum") {
			t.Errorf("new enum: %s %q action %q: %s", h.Kind, h.Subject, h.Action, h.Reason)
		}
	}
	changed := "enum a {\n\tA_NEW,\n\tA_X,\n\tA_Y,\n};\n"
	human := false
	for _, h := range Analyze([]*change.File{change.Compute("include/linux/e.h", []byte(old), []byte(changed))}) {
		human = human || h.NeedsHuman() && h.Subject == "enum a"
	}
	if !human {
		t.Errorf("changed enum: no hazard about enum a for an engineer")
	}
}

// TestStaticLocalChanged: a static local whose declaration changes keeps
// the running kernel's copy in both builders (paired by name), so it
// needs an engineer; those both builders give a fresh copy (_rs,
// __already_done, .data..once) are a note only, and a name only one
// builder copies afresh still needs an engineer.
func TestStaticLocalChanged(t *testing.T) {
	t.Parallel()
	fn := func(decl string) string {
		return "static void ghes_print_estatus(int x)\n{\n\t" + decl + "\n\tif (x)\n\t\tx++;\n}\n"
	}
	cases := []struct {
		name, old, new, subject string
		human                   bool
		reason                  []string
	}{
		{"ratelimit state", "static DEFINE_RATELIMIT_STATE(ratelimit_corrected, 5*HZ, 2);", "static DEFINE_RATELIMIT_STATE(ratelimit_corrected, 30 * HZ, 1);",
			"ghes_print_estatus::ratelimit_corrected", true,
			[]string{"pair a function's static locals with the running kernel's copies by name", "never takes effect", "data section ... selected for inclusion", "changed data: ratelimit_corrected.N"}},
		{"buffer size", "static char buf[40];", "static char buf[64];",
			"ghes_print_estatus::buf", true, []string{"static char buf[40]; -> static char buf[64];", "overruns"}},
		{"printk_ratelimited's state", "static DEFINE_RATELIMIT_STATE(_rs, HZ, 10);", "static DEFINE_RATELIMIT_STATE(_rs, 5 * HZ, 10);",
			"ghes_print_estatus::_rs", false, []string{"both builders give it a fresh copy", "state restarts"}},
		{"once flag", "static bool __section(\".data..once\") __already_done;", "static bool __section(\".data..once\") __already_done = true;",
			"ghes_print_estatus::__already_done", false, []string{"fresh copy"}},
		{"once section", "static bool __section(\".data..once\") shown;", "static int __section(\".data..once\") shown;",
			"ghes_print_estatus::shown", false, []string{"fresh copy"}},
		{"klp-build only", "static struct d descriptor = { 1 };", "static struct d descriptor = { 2 };",
			"ghes_print_estatus::descriptor", true, []string{"klp-build gives descriptor a fresh copy, but kpatch-build"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var found *Hazard
			for _, h := range Analyze([]*change.File{change.Compute("drivers/acpi/apei/ghes.c", []byte(fn(c.old)), []byte(fn(c.new)))}) {
				if h.Kind == StaticLocal {
					if found != nil {
						t.Errorf("a second static-local hazard: %+v", h)
					}
					found = h
				}
			}
			switch {
			case found == nil:
				t.Fatal("no static-local hazard")
			case found.Subject != c.subject || found.Line != 3:
				t.Errorf("subject %q line %d, want %q line 3", found.Subject, found.Line, c.subject)
			case found.NeedsHuman() != c.human:
				t.Errorf("needs an engineer %v, want %v: %s", found.NeedsHuman(), c.human, found.Action)
			case c.human && !strings.Contains(found.Action, "give it a new name (a new static gets a fresh copy with the new initializer in the livepatch module; its state restarts), or keep the old declaration"):
				t.Errorf("action %q", found.Action)
			}
			for _, w := range c.reason {
				if !strings.Contains(found.Reason, w) {
					t.Errorf("reason lacks %q: %s", w, found.Reason)
				}
			}
		})
	}
	// the same declaration: no static-local hazard
	if got := kinds(t, "kernel/a.c", fn("static char buf[40];"), fn("static char buf[40];")+"\nint y;\n"); got[StaticLocal] != "" {
		t.Errorf("unchanged static: %v", got)
	}
}

// TestSourceEnum: an enum of a .c file encodes state just as one in a
// header does (uinput's enum uinput_state: a device created before the
// livepatch holds 2 = UIST_CREATED, which UIST_DESTROYING inserted before
// it would take over), so a changed one is a hazard the enums transform
// can take; a new one is nothing.
func TestSourceEnum(t *testing.T) {
	t.Parallel()
	const path = "drivers/input/misc/uinput.c"
	old := "enum uinput_state { UIST_NEW_DEVICE, UIST_SETUP_COMPLETE, UIST_CREATED };\n\nstruct uinput_device {\n\tenum uinput_state state;\n};\n"
	new := "enum uinput_state {\n\tUIST_NEW_DEVICE,\n\tUIST_SETUP_COMPLETE,\n\tUIST_DESTROYING,\n\tUIST_CREATED,\n};\n\nstruct uinput_device {\n\tenum uinput_state state;\n};\n"
	hs := Analyze([]*change.File{change.Compute(path, []byte(old), []byte(new))})
	if len(hs) != 1 {
		t.Fatalf("got %d hazards, want 1: %v", len(hs), hs)
	}
	h := hs[0]
	switch {
	case h.Kind != SourceEnum || h.Subject != "enum uinput_state" || h.Line != 1:
		t.Errorf("got %s %q line %d, want a source-enum hazard about enum uinput_state at line 1", h.Kind, h.Subject, h.Line)
	case !h.Auto || !h.NeedsHuman():
		t.Errorf("auto %v, action %q: want one the enums transform can take, with what the engineer does otherwise", h.Auto, h.Action)
	case !strings.Contains(h.Reason, "hold its old values as numbers") || !strings.Contains(h.Action, "append new values only"):
		t.Errorf("reason %q, action %q", h.Reason, h.Action)
	}
	added := old + "enum uinput_extra { UIX_A, UIX_B };\n"
	if hs := Analyze([]*change.File{change.Compute(path, []byte(old), []byte(added))}); len(hs) != 0 {
		t.Errorf("a new enum of a .c file: %v", hs)
	}
}

// TestSourceMacro: a macro of a .c file that its structs, unions or
// file-scope data use (directly or through its other macros, enum
// constants and typedefs) changes what the running kernel holds: hid-elan's
// ELAN_INPUT_REPORT_SIZE 8 -> 9 grows struct elan_drvdata from 400 to 408
// bytes. One that only function bodies use changes only the functions the
// livepatch replaces: nothing to say.
func TestSourceMacro(t *testing.T) {
	t.Parallel()
	const fn = "\nint f(u8 *p)\n{\n\treturn p[0] == LEN;\n}\n"
	cases := []struct {
		name, rest string // the file after "#define LEN 8" (or 9)
		want       []string
		layout     bool
	}{
		{"struct member", "#define X 1\nstruct elan_drvdata {\n\tu8 prev_report[LEN];\n\tint x;\n};\n" + fn,
			[]string{`macro LEN of this file changes ("LEN 8" -> "LEN 9")`, "struct elan_drvdata of this file uses it", "struct elan_drvdata may change"}, true},
		{"through a macro", "#define BYTES (LEN * 2)\nunion u {\n\tu8 b[BYTES];\n\tint x;\n};\n" + fn,
			[]string{"union u of this file uses it (through BYTES)"}, true},
		{"through an enum constant and a typedef", "enum { NBUF = LEN + 1, NOTHER };\ntypedef u8 buf_t[NOTHER];\nstruct s {\n\tbuf_t b;\n};\n" + fn,
			[]string{"struct s of this file uses it (through buf_t)"}, true},
		{"#if around a member", "struct s {\n#if LEN > 8\n\tint big;\n#endif\n\tint x;\n};\n" + fn,
			[]string{"struct s of this file uses it"}, true},
		{"global array size", "static u8 report_buf[LEN];\n" + fn,
			[]string{"report_buf of this file uses it"}, false},
		{"initializer", "static const int sizes[] = { LEN, 32 };\n" + fn,
			[]string{"sizes of this file uses it"}, false},
		{"static local", "\nint g(void)\n{\n\tstatic u8 last[LEN];\n\treturn last[0];\n}\n" + fn,
			[]string{"static local g::last of this file uses it"}, false},
		{"data-defining macro call", "static DECLARE_BITMAP(seen, LEN);\n" + fn,
			[]string{"DECLARE_BITMAP(seen, ...) of this file uses it"}, false},
		{"function bodies only", "#define TWICE (LEN * 2)\nstruct s {\n\tint x;\n};\n" + fn + "\nint g(void)\n{\n\tu8 buf[TWICE];\n\treturn sizeof(buf);\n}\n", nil, false},
		{"defined inside a struct", "struct s {\n#define HALF (LEN / 2)\n\tint x;\n};\n" + fn + "\nint g(void)\n{\n\treturn HALF;\n}\n", nil, false},
		{"module information", "MODULE_VERSION(__stringify(LEN));\n" + fn, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got []*Hazard
			for _, h := range Analyze([]*change.File{change.Compute("drivers/hid/hid-elan.c", []byte("#define LEN 8\n"+c.rest), []byte("#define LEN 9\n"+c.rest))}) {
				if h.Kind != SourceMacro {
					t.Errorf("another hazard: %s %q: %s", h.Kind, h.Subject, h.Reason)
					continue
				}
				got = append(got, h)
			}
			if c.want == nil {
				if len(got) != 0 {
					t.Errorf("want no hazard, got %q", got[0].Reason)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d source-macro hazards, want 1", len(got))
			}
			h := got[0]
			if h.Subject != "LEN" || h.Line != 1 || h.Auto || !h.NeedsHuman() {
				t.Errorf("subject %q line %d auto %v action %q", h.Subject, h.Line, h.Auto, h.Action)
			}
			for _, w := range c.want {
				if !strings.Contains(h.Reason, w) {
					t.Errorf("reason lacks %q: %s", w, h.Reason)
				}
			}
			if !strings.Contains(h.Action, "keep the old value of LEN for the") || !strings.Contains(h.Action, "give the new value a new name") {
				t.Errorf("action %q", h.Action)
			}
			if layout := strings.Contains(h.Action, "a struct layout change"); layout != c.layout {
				t.Errorf("action %q: a struct change %v, want %v", h.Action, layout, c.layout)
			}
		})
	}
	// a struct or global the patch adds along with the change: nothing of
	// the running kernel has it
	old := "#define LEN 8\n" + fn
	new := "#define LEN 9\nstruct s {\n\tu8 r[LEN];\n};\nstatic u8 extra[LEN];\n" + fn
	for _, h := range Analyze([]*change.File{change.Compute("drivers/hid/hid-elan.c", []byte(old), []byte(new))}) {
		if h.Kind == SourceMacro {
			t.Errorf("new definitions only: %s", h.Reason)
		}
	}
	// a header's macro is still a header-macro hazard, used or not
	if got := kinds(t, "include/linux/s.h", "#define LEN 8\n", "#define LEN 9\n"); got[HeaderMacro] != "LEN" || len(got) != 1 {
		t.Errorf("header macro: %v", got)
	}
}

// TestStaticPrototypeAddressTaken: a static function whose address the
// running kernel stores (a timer callback) changes its prototype: the timer
// calls the replacement with the old arguments. A static function only
// called changes with its callers, in the same patch: no hazard.
func TestStaticPrototypeAddressTaken(t *testing.T) {
	t.Parallel()
	old := "static void repeat(struct timer_list *t)\n{\n\tkick(t);\n}\n\nvoid enable(struct dev *d)\n{\n\td->timer.function = repeat;\n}\n"
	new := "static void repeat(struct dev *d)\n{\n\tkick(d);\n}\n\nvoid enable(struct dev *d)\n{\n\td->timer.function = repeat_timer;\n}\n"
	got := kinds(t, "drivers/input/input.c", old, new)
	if got[Prototype] != "repeat" {
		t.Errorf("address taken: hazards %v, want a prototype-change of repeat", got)
	}
	// still stored (an ops table whose member's type changes with it, as
	// xfrm's pfkey_send_migrate): the callers through the pointer change
	// with the patch
	stored := "static int mig(int a)\n{\n\treturn a;\n}\n\nstatic struct mgr m = {\n\t.migrate = mig,\n};\n"
	storedNew := "static int mig(int a, struct net *net)\n{\n\treturn a;\n}\n\nstatic struct mgr m = {\n\t.migrate = mig,\n};\n"
	if got := kinds(t, "net/key/af_key.c", stored, storedNew); got[Prototype] != "" {
		t.Errorf("still stored: hazards %v, want no prototype-change", got)
	}
	called := "static void repeat(struct timer_list *t)\n{\n\tkick(t);\n}\n\nvoid enable(struct dev *d)\n{\n\trepeat(&d->timer);\n}\n"
	calledNew := "static void repeat(struct dev *d)\n{\n\tkick(d);\n}\n\nvoid enable(struct dev *d)\n{\n\trepeat(d);\n}\n"
	if got := kinds(t, "drivers/input/input.c", called, calledNew); got[Prototype] != "" {
		t.Errorf("only called: hazards %v, want no prototype-change", got)
	}
}

// TestConstDataInit: a changed initializer of data whose own storage is
// const (read-only in the running kernel) asks for a copy under a new
// name, not for a post-patch callback that would write it; an array of
// pointers to const is writable and keeps the callback step.
func TestConstDataInit(t *testing.T) {
	actions := func(old, new string) string {
		t.Helper()
		var out []string
		for _, h := range Analyze([]*change.File{change.Compute("drivers/x/x.c", []byte(old), []byte(new))}) {
			if h.Kind == DataInit {
				out = append(out, h.Action)
			}
		}
		return strings.Join(out, "\n")
	}
	got := actions("static const struct nla_policy pol[3] = {\n\t[1] = { .type = NLA_U16 },\n};\n",
		"static const struct nla_policy pol[3] = {\n\t[1] = { .type = NLA_U16 },\n\t[2] = { .type = NLA_U32 },\n};\n")
	if !strings.Contains(got, "give the new value a new name in the livepatch (a copy of pol") {
		t.Errorf("const table: action %q", got)
	}
	got = actions("static const char *names[] = {\n\t\"a\",\n};\n", "static const char *names[] = {\n\t\"a\",\n\t\"b\",\n};\n")
	if !strings.Contains(got, "apply the new value in a post-patch callback") {
		t.Errorf("array of pointers to const: action %q", got)
	}
}
