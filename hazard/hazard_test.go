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

// TestNewEnum: a new enum in a header is a note; changing an existing one
// still needs an engineer (old code keeps the old values).
func TestNewEnum(t *testing.T) {
	t.Parallel()
	old := "enum a {\n\tA_X,\n\tA_Y,\n};\n"
	added := old + "enum b {\n\tB_X,\n\tB_COUNT\n};\n"
	for _, h := range Analyze([]*change.File{change.Compute("include/linux/e.h", []byte(old), []byte(added))}) {
		if h.NeedsHuman() || !strings.Contains(h.Reason, "a new enum") {
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
