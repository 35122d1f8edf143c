package gen

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
)

func TestRevertLines(t *testing.T) {
	t.Parallel()
	pre := "a\nb;  /* b */\nc\nd\n"
	cur := "a\nb,  /* b */\nx;  /* x */\nc\nD\n"
	// revert what touches line 3 ("x") only: the b/x block goes back, D stays
	got := string(RevertLines([]byte(pre), []byte(cur), map[int]bool{3: true}))
	if diff := cmp.Diff("a\nb;  /* b */\nc\nD\n", got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// a pure insertion
	pre2 := "a\nb\n"
	cur2 := "a\nnew\nb\n"
	if got := string(RevertLines([]byte(pre2), []byte(cur2), map[int]bool{2: true})); got != pre2 {
		t.Errorf("got %q", got)
	}
}

func TestInsertedBlockHasOneBlankLineEachSide(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, src, want string }{
		{"one blank line after the includes",
			"#include <a.h>\n\nint x;\n",
			"#include <a.h>\n\nstatic int y;\n\nint x;\n"},
		{"two blank lines after the includes (net/core/dev.c)",
			"#include <a.h>\n\n\nint x;\n",
			"#include <a.h>\n\nstatic int y;\n\nint x;\n"},
		{"no blank line",
			"#include <a.h>\nint x;\n",
			"#include <a.h>\n\nstatic int y;\n\nint x;\n"},
		{"an include inside an initializer (kernel/sched/core.c) is not the place",
			"#include <a.h>\n\nunsigned int feats =\n#include \"features.h\"\n\t0;\n\nint x;\n",
			"#include <a.h>\n\nstatic int y;\n\nunsigned int feats =\n#include \"features.h\"\n\t0;\n\nint x;\n"},
		{"an include after a declaration is",
			"#include <a.h>\nint z;\n#include \"b.h\"\n\nint x;\n",
			"#include <a.h>\nint z;\n#include \"b.h\"\n\nstatic int y;\n\nint x;\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := []byte(c.src)
			at := InsertionPoint(ast.Parse("f.c", src))
			got := string(src[:at]) + InsertText(src, at, "static int y;") + string(src[at:])
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestAfterDefinitions: generated code that names a type the file
// defines after the insertion point (an enum header2c moved there) goes
// after that definition, but never past the file's first function.
func TestAfterDefinitions(t *testing.T) {
	src := "#include <a.h>\n\nenum st {\n\tST_A,\n};\n\nint f(void)\n{\n\treturn 0;\n}\n\nenum late { L_A };\n"
	f := ast.Parse("x.c", []byte(src))
	at := InsertionPoint(f)
	if got := AfterDefinitions(f, at, "static inline enum st get(void) { return ST_A; }"); got != strings.Index(src, "\nint f") {
		t.Errorf("after enum st: got %d, want %d", got, strings.Index(src, "\nint f"))
	}
	if got := AfterDefinitions(f, at, "static inline enum late get(void) { return L_A; }"); got != at {
		t.Errorf("an enum after the first function: got %d, want the insertion point %d", got, at)
	}
	if got := AfterDefinitions(f, at, "static inline int get(void) { return 0; }"); got != at {
		t.Errorf("code naming no type of the file: got %d, want %d", got, at)
	}
}

// TestCastCallee: a call through a cast keeps its arguments aligned with
// its parenthesis, and a line the cast would take past 100 columns is
// broken after the cast.
func TestCastCallee(t *testing.T) {
	for _, c := range []struct {
		name, src, callee, typ, want string
	}{
		{
			name:   "short",
			src:    "\tret = ops->m(a,\n\t\t     b);\n",
			callee: "ops->m", typ: "m_lp_t",
			want: "\tret = ((m_lp_t)ops->m)(a,\n\t\t\t       b);\n",
		},
		{
			name:   "long",
			src:    "\t\treturn sof_ops(sdev)->set_stream_data_offset(sdev, sps,\n\t\t\t\t\t\t\t     posn_offset);\n",
			callee: "sof_ops(sdev)->set_stream_data_offset", typ: "snd_sof_dsp_ops_set_stream_data_offset_lp_t",
			want: "\t\treturn ((snd_sof_dsp_ops_set_stream_data_offset_lp_t)\n\t\t\tsof_ops(sdev)->set_stream_data_offset)(sdev, sps,\n\t\t\t\t\t\t\t       posn_offset);\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			off := strings.Index(c.src, c.callee)
			es := CastCallee([]byte(c.src), off, off+len(c.callee), c.typ)
			got, err := edit.Apply([]byte(c.src), es)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, string(got)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			for _, l := range strings.Split(string(got), "\n") {
				if w := visualCol([]byte(l), len(l)); w > MaxColumns {
					t.Errorf("line of %d columns: %q", w, l)
				}
			}
		})
	}
}

// TestRestoreLines: deleted lines of the original come back at their
// place; the change's other deletions and its insertions stay.
func TestRestoreLines(t *testing.T) {
	pre := "a\n#define OLD 8\n#define KEEP 1\nb\n#ifdef X\n#define W 32\n#endif\nc\n"
	cur := "a\n#define NEW 9\n#define KEEP 1\nb\nc\n"
	for _, c := range []struct {
		name  string
		lines []int
		want  string
	}{
		{"one line of a replaced block", []int{2}, "a\n#define OLD 8\n#define NEW 9\n#define KEEP 1\nb\nc\n"},
		{"a block with its #if", []int{5, 6, 7}, "a\n#define NEW 9\n#define KEEP 1\nb\n#ifdef X\n#define W 32\n#endif\nc\n"},
		{"only the define of a removed block", []int{6}, "a\n#define NEW 9\n#define KEEP 1\nb\n#define W 32\nc\n"},
		{"none", nil, cur},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := map[int]bool{}
			for _, l := range c.lines {
				lines[l] = true
			}
			if diff := cmp.Diff(c.want, string(RestoreLines([]byte(pre), []byte(cur), lines))); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestRestoreLinesBetweenComments: a removed "/** doc */ decl;" before
// another kernel-doc comment is diffed as if its "/**" were the next
// item's; the declaration put back lands before that comment, not in it
// (u_ether.h when f_ncm's fix is undone).
func TestRestoreLinesBetweenComments(t *testing.T) {
	pre := "void a(void);\n\n/**\n * b - new\n */\nint b(void);\n\n/**\n * c - kept\n */\nint c(void);\n"
	cur := "void a(void);\n\n/**\n * c - kept\n */\nint c(void);\n"
	want := "void a(void);\n\nint b(void);\n/**\n * c - kept\n */\nint c(void);\n"
	if diff := cmp.Diff(want, string(RestoreLines([]byte(pre), []byte(cur), map[int]bool{6: true}))); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	whole := map[int]bool{3: true, 4: true, 5: true, 6: true, 7: true}
	if diff := cmp.Diff(pre, string(RestoreLines([]byte(pre), []byte(cur), whole))); diff != "" {
		t.Errorf("the whole item: (-want +got)\n%s", diff)
	}
}

func TestCall(t *testing.T) {
	if got := Call("\t", "f", []string{"a", "b"}, ";"); got != "\tf(a, b);" {
		t.Errorf("a short call stays on its line: %q", got)
	}
	long := strings.Repeat("x", 40)
	got := Call("\t", "w = klp_shadow_get_or_alloc", []string{"(void *)s", long + "_SHADOW_ID", "sizeof(*w)", "gfp", long + "_ctor", "NULL"}, ";")
	want := "\tw = klp_shadow_get_or_alloc((void *)s, " + long + "_SHADOW_ID,\n" +
		"\t\t\t\t    sizeof(*w), gfp, " + long + "_ctor,\n" +
		"\t\t\t\t    NULL);"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	tag := "batadv_hard_iface_bat_iv"
	got = Signature("static inline struct delayed_work *", tag+"_reschedule_work_ptr", []string{"const struct " + tag + " *s", "gfp_t gfp"})
	want = "static inline struct delayed_work *\n" + tag + "_reschedule_work_ptr(const struct " + tag + " *s, gfp_t gfp)"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Signature("static void", "f", []string{"void"}); got != "static void f(void)" {
		t.Errorf("got %q", got)
	}
	for _, l := range strings.Split(got, "\n") {
		if width(l) > MaxColumns {
			t.Errorf("line of %d columns: %q", width(l), l)
		}
	}
}
