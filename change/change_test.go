package change

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
)

// summary lists "kind subject" for each change.
func summary(fc *File) []string {
	var out []string
	for _, c := range fc.Changes {
		out = append(out, string(c.Kind)+" "+c.Subject)
	}
	return out
}

func TestStructChanges(t *testing.T) {
	cases := []struct {
		name     string
		pre, new string
		want     []string
	}{
		{
			// found by FuzzPlan: a member declared twice once panicked
			// the reorder check; the member model does not see the
			// second declaration, the struct check does
			name: "member declared twice",
			pre:  "struct p {\n\tint a;\n\tunsigned long tx;\n\tint b;\n};\n",
			new:  "struct p {\n\tint a;\n\tunsigned long tx;\n\tunsigned long tx;\n\tint b;\n};\n",
			want: []string{"struct changed otherwise struct p"},
		},
		{
			// found by FuzzPlan: the repeated member sits in a hunk that
			// another struct's new member explains, so no "unclassified
			// hunk" showed it, and rewrite exited 0 with it in the output
			name: "member declared twice next to another struct's new member",
			pre:  "struct q {\n\tint c;\n};\n\nstruct p {\n\tint a;\n\tvoid *src;\n};\n",
			new:  "struct q {\n\tint c;\n\tint d;\n};\n\nstruct p {\n\tint a;\n\tvoid *src;\n\tvoid *src;\n};\n",
			want: []string{"member added struct q.d", "struct changed otherwise struct p"},
		},
		{
			name: "attribute on a member",
			pre:  "struct m {\n\tint base;\n\tu32 seq;\n};\n",
			new:  "struct m {\n\tint base;\n\tu32 seq __aligned(16);\n};\n",
			want: []string{"struct changed otherwise struct m"},
		},
		{
			// the new member is the model's; the attribute on another
			// member of the same struct is not, and still shows
			name: "attribute on a member next to a new member",
			pre:  "struct m {\n\tint base;\n\tu32 seq;\n};\n",
			new:  "struct m {\n\tint base;\n\tu32 seq __aligned(16);\n\tint extra;\n};\n",
			want: []string{"struct changed otherwise struct m", "member added struct m.extra"},
		},
		{
			name: "attribute on the struct",
			pre:  "struct m {\n\tint base;\n};\n",
			new:  "struct __packed m {\n\tint base;\n};\n",
			want: []string{"struct changed otherwise struct m"},
		},
		{
			// after the closing brace, next to another struct's new member
			name: "attribute after the closing brace",
			pre:  "struct q {\n\tint c;\n};\nstruct m {\n\tint base;\n};\n",
			new:  "struct q {\n\tint c;\n\tint d;\n};\nstruct m {\n\tint base;\n} __aligned(64);\n",
			want: []string{"member added struct q.d", "struct changed otherwise struct m"},
		},
		{
			// comments, blank lines and a member added to a shared
			// declaration are no other change
			name: "comments and a shared declaration",
			pre:  "struct c {\n\tu8 up:1, down:1;\n\tint a; /* a */\n};\n",
			new:  "struct c {\n\tu8 up:1, down:1, flap:1;\n\n\t/* the a */\n\tint a; /* the a */\n};\n",
			want: []string{"member added struct c.flap"},
		},
		{
			name: "member added",
			pre:  "struct s {\n\tint a;\n};\n",
			new:  "struct s {\n\tint a;\n\tint b;\n};\n",
			want: []string{"member added struct s.b"},
		},
		{
			// a full definition and an empty stub under #ifdef: each pairs
			// with its own counterpart, so a change elsewhere adds nothing
			name: "definitions in #if branches",
			pre:  "#ifdef CONFIG_X\nstruct g {\n\tint a;\n\tint b;\n};\n#else\nstruct g { };\n#endif\nint x;\n",
			new:  "#ifdef CONFIG_X\nstruct g {\n\tint a;\n\tint b;\n};\n#else\nstruct g { };\n#endif\nint x;\nint y;\n",
			want: []string{"global added y"},
		},
		{
			name: "member added to the second definition",
			pre:  "#ifdef CONFIG_X\nstruct g {\n\tint a;\n};\n#else\nstruct g {\n\tint z;\n};\n#endif\n",
			new:  "#ifdef CONFIG_X\nstruct g {\n\tint a;\n};\n#else\nstruct g {\n\tint z;\n\tint w;\n};\n#endif\n",
			want: []string{"member added struct g.w"},
		},
		{
			name: "struct removed and added",
			pre:  "struct old {\n\tint a;\n};\n",
			new:  "struct nu {\n\tint a;\n};\n",
			want: []string{"struct added struct nu", "struct removed struct old"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := summary(Compute("include/x.h", []byte(c.pre), []byte(c.new)))
			if d := gocmp.Diff(c.want, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

// TestMemberTextFunctionPointer: a function-pointer member's type already
// holds its name; the report once printed it twice.
func TestMemberTextFunctionPointer(t *testing.T) {
	pre := "struct cxl_decoder {\n\tint id;\n\tint (*reset)(struct cxl_decoder *cxld);\n};\n"
	post := "struct cxl_decoder {\n\tint id;\n\tvoid (*reset)(struct cxl_decoder *cxld);\n};\n"
	fc := Compute("include/x.h", []byte(pre), []byte(post))
	var got []string
	for _, c := range fc.Changes {
		got = append(got, string(c.Kind)+" "+c.Subject+": "+c.Old+" -> "+c.New)
	}
	want := []string{"member type changed struct cxl_decoder.reset: int (*reset)(struct cxl_decoder *cxld) -> void (*reset)(struct cxl_decoder *cxld)"}
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// TestRestoreRemoved: the upstream post-image with removed members put
// back where they were (what verify compiles to tell code changes from the
// removal's shifts), under their own #if.
func TestRestoreRemoved(t *testing.T) {
	pre := "struct p {\n\tint a;\n#ifdef CONFIG_X\n\tint x;\n#endif\n\tint b, c;\n\tint d;\n};\n"
	post := "struct p {\n\tint a;\n\tint b;\n\tint d;\n};\n"
	want := "struct p {\n\tint a;\n#ifdef CONFIG_X\n\tint x;\n#endif\n\tint b;\n\tint c;\n\tint d;\n};\n"
	got := string(Compute("include/p.h", []byte(pre), []byte(post)).RestoreRemoved())
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("restored (-want +got):\n%s", d)
	}
	if r := Compute("include/p.h", []byte(post), []byte(pre)).RestoreRemoved(); r != nil {
		t.Errorf("nothing removed, got %q", r)
	}
}

// TestRestoreLast: a member removed from the end of its struct, after a
// member under an #if of its own, goes back before the closing brace
// (struct device's flags bitmap after dma_ops_bypass); one upstream adds a
// member after has no place to go back to.
func TestRestoreLast(t *testing.T) {
	pre := "struct d {\n\tint a;\n#ifdef CONFIG_B\n\tbool b:1;\n#endif\n\n\tDECLARE_BITMAP(flags, 1);\n};\n"
	post := "struct d {\n\tint a;\n#ifdef CONFIG_B\n\tbool b:1;\n#endif\n};\n"
	want := "struct d {\n\tint a;\n#ifdef CONFIG_B\n\tbool b:1;\n#endif\n\tDECLARE_BITMAP(flags, 1);\n};\n"
	got := string(Compute("include/d.h", []byte(pre), []byte(post)).RestoreRemoved())
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("restored (-want +got):\n%s", d)
	}
	added := "struct d {\n\tint a;\n#ifdef CONFIG_B\n\tbool b:1;\n#endif\n\tint n;\n};\n"
	if r := Compute("include/d.h", []byte(pre), []byte(added)).RestoreRemoved(); r != nil {
		t.Errorf("a new last member: got %q", r)
	}
}

// TestUnchangedEndianStruct: a struct whose text does not change has no
// changes, although its #if branches declare the same bitfields twice
// (include/linux/cdrom.h) and a prototype added next to it moves it; a
// real change in one branch is still seen.
func TestUnchangedEndianStruct(t *testing.T) {
	t.Parallel()
	st := "struct hdr {\n#if defined(__BIG_ENDIAN_BITFIELD)\n\t__u8 fault : 1;\n\t__u8 state : 7;\n#elif defined(__LITTLE_ENDIAN_BITFIELD)\n\t__u8 state : 7;\n\t__u8 fault : 1;\n#endif\n};\n"
	old := "extern int a(void);\n\n" + st
	added := "extern int a(void);\nextern void b(void);\n\n" + st
	for _, ch := range Compute("include/linux/cdrom.h", []byte(old), []byte(added)).Changes {
		if ch.Struct != "" {
			t.Errorf("unchanged struct: %s %s", ch.Kind, ch.Subject)
		}
	}
	changed := strings.Replace(st, "\t__u8 state : 7;\n\t__u8 fault : 1;\n", "\t__u8 state : 6;\n\t__u8 fault : 2;\n", 1)
	seen := false
	for _, ch := range Compute("include/linux/cdrom.h", []byte(old), []byte("extern int a(void);\n\n"+changed)).Changes {
		seen = seen || ch.Struct == "hdr"
	}
	if !seen {
		t.Errorf("a change in one branch is not seen")
	}
}

// TestEnumHunks: a hunk inside an enum is that enum's change, not an
// unclassified hunk as well.
func TestEnumHunks(t *testing.T) {
	t.Parallel()
	old := "enum r {\n\tR_A,\n\tR_B,\n\tR_C,\n\tR_D,\n\tR_MAX,\n};\n"
	new := "enum r {\n\tR_A,\n\tR_B,\n\tR_C,\n\tR_D,\n\tR_E,\n\tR_MAX,\n};\n"
	var kinds []string
	for _, ch := range Compute("include/linux/r.h", []byte(old), []byte(new)).Changes {
		kinds = append(kinds, string(ch.Kind))
	}
	if len(kinds) != 1 || kinds[0] != string(EnumChanged) {
		t.Errorf("got %v, want one %s", kinds, EnumChanged)
	}
}

func TestChangesExplainEveryHunk(t *testing.T) {
	t.Parallel()
	// a second #include of a header already included (spi-nor's
	// linux/delay.h), and a prototype whose changed line is not its first
	// (xfrm's km_migrate): each hunk is its change's, none unclassified
	for _, c := range []struct{ name, file, old, new string }{
		{"repeated include", "drivers/x.c", "#include <linux/delay.h>\n#include <linux/slab.h>\n\nint x;\n",
			"#include <linux/delay.h>\n#include <linux/slab.h>\n#include <linux/delay.h>\n\nint x;\n"},
		{"prototype on lines", "include/x.h", "int km(int a,\n\tint b,\n\tint c);\n",
			"int km(int a,\n\tint b, long n,\n\tint c);\n"},
		// xfrm's migrate member reversed: a line deleted inside a
		// function-pointer member is its retype's
		{"member parameter line deleted", "include/x.h", "struct m {\n\tint (*migrate)(int a,\n\t\t       long n,\n\t\t       int c);\n\tint x;\n};\n",
			"struct m {\n\tint (*migrate)(int a,\n\t\t       int c);\n\tint x;\n};\n"},
	} {
		for _, ch := range Compute(c.file, []byte(c.old), []byte(c.new)).Changes {
			if ch.Kind == Unclassified {
				t.Errorf("%s: %s: unclassified", c.name, ch.Subject)
			}
		}
	}
}

// TestStaticLocalChanged: a static local kept by name in a function but
// declared differently (its initializer, its array size, a macro's
// arguments, its attributes, one declarator of a shared statement) is a
// change; the same declaration reformatted is not, and statics of one name
// in two blocks pair up in order.
func TestStaticLocalChanged(t *testing.T) {
	t.Parallel()
	fn := func(body string) string {
		return "static void ghes_print_estatus(int x)\n{\n" + body + "\tif (x)\n\t\tx++;\n}\n"
	}
	cases := []struct {
		name, old, new string
		want           []string // kind subject (old -> new)
	}{
		{"ratelimit state",
			fn("\tstatic DEFINE_RATELIMIT_STATE(ratelimit_corrected, 5*HZ, 2);\n"),
			fn("\tstatic DEFINE_RATELIMIT_STATE(ratelimit_corrected, 30 * HZ, 1);\n"),
			[]string{"static local changed ghes_print_estatus::ratelimit_corrected (static DEFINE_RATELIMIT_STATE(ratelimit_corrected, 5 *HZ, 2); -> static DEFINE_RATELIMIT_STATE(ratelimit_corrected, 30 *HZ, 1);)"}},
		{"array size",
			fn("\tstatic char buf[40];\n"), fn("\tstatic char buf[64];\n"),
			[]string{"static local changed ghes_print_estatus::buf (static char buf[40]; -> static char buf[64];)"}},
		{"initializer",
			fn("\tstatic int budget = 5;\n"), fn("\tstatic int budget = 10;\n"),
			[]string{"static local changed ghes_print_estatus::budget (static int budget = 5; -> static int budget = 10;)"}},
		{"type",
			fn("\tstatic int budget;\n"), fn("\tstatic long budget;\n"),
			[]string{"static local changed ghes_print_estatus::budget (static int budget; -> static long budget;)"}},
		{"attribute",
			fn("\tstatic int budget;\n"), fn("\tstatic int budget __aligned(64);\n"),
			[]string{"static local changed ghes_print_estatus::budget (static int budget; -> static int budget __aligned(64);)"}},
		{"one declarator of a shared statement",
			fn("\tstatic int a, b[3];\n"), fn("\tstatic int a, b[4];\n"),
			[]string{"static local changed ghes_print_estatus::b (static int b[3] -> static int b[4])"}},
		{"reformatted", fn("\tstatic int budget = 5;\n"), fn("\tstatic int budget=5; /* per call */\n"), nil},
		{"second of one name",
			fn("\t{\n\t\tstatic int n = 1;\n\t}\n\t{\n\t\tstatic int n = 2;\n\t}\n"),
			fn("\t{\n\t\tstatic int n = 1;\n\t}\n\t{\n\t\tstatic int n = 3;\n\t}\n"),
			[]string{"static local changed ghes_print_estatus::n (static int n = 2; -> static int n = 3;)"}},
		{"a second of one name added",
			fn("\t{\n\t\tstatic int n = 1;\n\t}\n"),
			fn("\t{\n\t\tstatic int n = 1;\n\t}\n\t{\n\t\tstatic int n = 1;\n\t}\n"),
			[]string{"static local added ghes_print_estatus::n ( -> )"}},
		{"renamed macro static",
			fn("\tstatic DEFINE_RATELIMIT_STATE(rs_a, HZ, 2);\n"), fn("\tstatic DEFINE_RATELIMIT_STATE(rs_b, HZ, 2);\n"),
			[]string{"static local added ghes_print_estatus::rs_b ( -> )", "static local removed ghes_print_estatus::rs_a ( -> )"}},
	}
	for _, c := range cases {
		fc := Compute("drivers/acpi/apei/ghes.c", []byte(c.old), []byte(c.new))
		var got []string
		for _, ch := range fc.Changes {
			if strings.HasPrefix(string(ch.Kind), "static local") {
				got = append(got, fmt.Sprintf("%s %s (%s -> %s)", ch.Kind, ch.Subject, ch.Old, ch.New))
				if ch.Kind == StaticLocalChanged && (len(ch.Hunks) == 0 || ch.PreVar == nil || ch.PostVar == nil) {
					t.Errorf("%s: %s: hunks %v, vars %v %v", c.name, ch.Subject, ch.Hunks, ch.PreVar, ch.PostVar)
				}
			}
			if ch.Kind == Unclassified && c.want != nil {
				// (a reformatted code line is unclassified, as elsewhere)
				t.Errorf("%s: unclassified %s", c.name, ch.Subject)
			}
		}
		sort.Strings(got)
		if d := gocmp.Diff(c.want, got); d != "" {
			t.Errorf("%s: static local changes (-want +got):\n%s", c.name, d)
		}
	}
}

// TestDeclaredTwice: ixgbe.h declares ixgbe_xmit_frame_ring twice, once
// without and once with parameter names; a patch elsewhere in the header
// changes neither, and no declaration change may be reported.
func TestDeclaredTwice(t *testing.T) {
	old := "int f(int);\nstatic inline int g(void)\n{\n\treturn 1;\n}\nint f(int x);\n"
	new := "int f(int);\nstatic inline int g(void)\n{\n\treturn 2;\n}\nint f(int x);\n"
	for _, ch := range Compute("include/linux/x.h", []byte(old), []byte(new)).Changes {
		if ch.Kind == DeclChanged {
			t.Errorf("unchanged declarations reported: %s %q -> %q", ch.Name, ch.Old, ch.New)
		}
	}
	changed := "int f(int);\nstatic inline int g(void)\n{\n\treturn 1;\n}\nint f(long x);\n"
	n := 0
	for _, ch := range Compute("include/linux/x.h", []byte(old), []byte(changed)).Changes {
		if ch.Kind == DeclChanged && ch.Name == "f" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("one of two declarations changed: %d changes reported, want 1", n)
	}
}

// TestCanonType: integer types spelled differently are one type; char's
// three types stay apart, and so do the widths.
func TestCanonType(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"unsigned", "unsigned int", true},
		{"long int", "long", true},
		{"signed short int", "short", true},
		{"unsigned long long int", "unsigned long long", true},
		{"const unsigned *", "const unsigned int *", true},
		{"int (*f)(unsigned x)", "int (*f)(unsigned int x)", true},
		{"signed char", "char", false},
		{"unsigned char", "char", false},
		{"unsigned", "unsigned long", false},
		{"long", "long long", false},
		{"u32", "unsigned int", false},
	} {
		if got := CanonType(c.a) == CanonType(c.b); got != c.same {
			t.Errorf("%q and %q: same %v, want %v (%q, %q)", c.a, c.b, got, c.same, CanonType(c.a), CanonType(c.b))
		}
	}
}

// TestRespelledMember: "unsigned len" becoming "unsigned int len" next
// to a new member is no change of len, and nothing unmodelled
// (struct kvm_mmio_fragment).
func TestRespelledMember(t *testing.T) {
	pre := "struct f {\n\tvoid *data;\n\tunsigned len;\n};\n"
	post := "struct f {\n\tvoid *data;\n\tu64 val;\n\tunsigned int len;\n};\n"
	var got []string
	for _, ch := range Compute("include/f.h", []byte(pre), []byte(post)).Changes {
		got = append(got, string(ch.Kind)+" "+ch.Subject)
	}
	if d := gocmp.Diff([]string{"member added struct f.val"}, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// TestRestoreRemovedEnum: a kept member that names a constant of an enum
// the patch removes brings the enum back before its struct, so the
// header with the member kept compiles (struct device's flags bitmap
// sized by DEV_FLAG_COUNT).
func TestRestoreRemovedEnum(t *testing.T) {
	pre := "enum d_flags {\n\tD_READY = 0,\n\tD_COUNT\n};\n\nstruct d {\n\tint a;\n\tDECLARE_BITMAP(flags, D_COUNT);\n};\n"
	post := "struct d {\n\tint a;\n};\n"
	want := "enum d_flags {\n\tD_READY = 0,\n\tD_COUNT\n};\n\nstruct d {\n\tint a;\n\tDECLARE_BITMAP(flags, D_COUNT);\n};\n"
	got := string(Compute("include/d.h", []byte(pre), []byte(post)).RestoreRemoved())
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("restored (-want +got):\n%s", d)
	}
}

// TestCanonCode: integer keywords in code are spelled one way; in a
// string or a directive line they are text and stay.
func TestCanonCode(t *testing.T) {
	code := func(s string) string { return CanonCode(ast.Tokenize([]byte(s))) }
	if code("unsigned x; /* c */ long int y;") != code("unsigned int x; long y;") {
		t.Errorf("respelled declarations differ: %q, %q", code("unsigned x; long int y;"), code("unsigned int x; long y;"))
	}
	for _, p := range [][2]string{
		{`char *s = "unsigned";`, `char *s = "unsigned int";`},
		{"#define T int\nunsigned x;\n", "#define T unsigned\nint x;\n"},
		{"int u_int;", "int u_int int;"},
	} {
		if code(p[0]) == code(p[1]) {
			t.Errorf("%q and %q read as the same code", p[0], p[1])
		}
	}
}
