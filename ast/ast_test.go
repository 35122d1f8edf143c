package ast

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzTokenize(f *testing.F) {
	for _, p := range []string{"../testdata/kernels/seed/include/net/bonding.h", "../testdata/kernels/seed/net/core/dev.c"} {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("#define X(a) \\\n  a /* c */\nint x = 'a'; \"s\\\"\" /* open"))
	f.Fuzz(func(t *testing.T, src []byte) {
		toks := Tokenize(src)
		last := 0
		for _, tk := range toks {
			if tk.Off < last || tk.End <= tk.Off || tk.End > len(src) || string(src[tk.Off:tk.End]) != tk.Text {
				t.Fatalf("bad token %+v after %d", tk, last)
			}
			last = tk.End
		}
		Parse("fuzz.c", src) // must not panic
	})
}

func TestTokenizeKeepsCommentsAndDirectives(t *testing.T) {
	src := "#include <linux/x.h> /* c */\n#define A(x) \\\n\t((x) + 1)\nint a = 1; // end\n"
	var kinds []string
	for _, tk := range Tokenize([]byte(src)) {
		kinds = append(kinds, tk.Kind.String()+":"+tk.Text)
	}
	want := []string{"directive:#include <linux/x.h> /* c */", "directive:#define A(x) \\\n\t((x) + 1)",
		"ident:int", "ident:a", "punct:=", "number:1", "punct:;", "comment:// end"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStructMembers(t *testing.T) {
	src := `struct slave {
	struct net_device *dev; /* first */
	unsigned long arr[BOND_MAX];
	u8     backup:1,   /* a */
	       inactive:1; /* b */
#ifdef CONFIG_NET_POLL_CONTROLLER
	struct netpoll *np;
#else
	int nopoll;
#endif
	union {
		int a;
		long b;
	};
	struct {
		int x;
	} named;
	void (*fn)(int, char *);
	DECLARE_BITMAP(bits, 8);
	unsigned int __state;
};
`
	f := Parse("x.h", []byte(src))
	s := f.Struct("slave")
	if s == nil {
		t.Fatal("struct slave not found")
	}
	type m struct{ Name, Type, Bits, Cond string }
	var got []m
	for _, x := range s.Members {
		got = append(got, m{x.Name, x.Type, x.Bits, x.Cond.String()})
	}
	want := []m{
		{"dev", "struct net_device *", "", ""},
		{"arr", "unsigned long", "", ""},
		{"backup", "u8", "1", ""},
		{"inactive", "u8", "1", ""},
		{"np", "struct netpoll *", "", "defined(CONFIG_NET_POLL_CONTROLLER)"},
		{"nopoll", "int", "", "!(defined(CONFIG_NET_POLL_CONTROLLER))"},
		{"", "union {...}", "", ""},
		{"named", "struct {...}", "", ""},
		{"fn", "void (*fn)(int, char *)", "", ""},
		{"", "DECLARE_BITMAP", "", ""},
		{"__state", "unsigned int", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if s.Members[2].Group != s.Members[3].Group || s.Members[2].Group == s.Members[1].Group {
		t.Errorf("bitfield group numbers wrong")
	}
	if !strings.Contains(s.Members[3].Comment, "/* b */") {
		t.Errorf("comment %q", s.Members[3].Comment)
	}
	if got := s.Members[1].Array; len(got) != 1 || got[0] != "BOND_MAX" {
		t.Errorf("array %v", got)
	}
}

func TestFunctions(t *testing.T) {
	src := `static int max_bonds = 1;
static int __init bond_init(void)
{
	static bool done;
	return 0;
}
__printf(2, 3) void log_it(int lvl, const char *fmt, ...)
{
}
static inline __attribute__((always_inline)) int f2(int a) { return a; }
SYSCALL_DEFINE3(kcmp, pid_t, pid1, pid_t, pid2, int, type)
{
	return 0;
}
int foo(void) __acquires(x)
{
	return 1;
}
EXPORT_SYMBOL(foo);
static DEFINE_MUTEX(lock);
int proto(int);
`
	f := Parse("x.c", []byte(src))
	var names []string
	for _, fn := range f.Funcs {
		names = append(names, fn.Name)
	}
	if diff := cmp.Diff([]string{"bond_init", "log_it", "f2", "sys_kcmp", "foo"}, names); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	init := f.Func("bond_init")
	if !init.Has("__init") || !init.Has("static") || len(init.StaticLocals) != 1 || init.StaticLocals[0].Name != "done" {
		t.Errorf("bond_init: attrs %v locals %d", init.Attrs, len(init.StaticLocals))
	}
	if !f.Func("f2").IsInline() {
		t.Errorf("f2 not inline")
	}
	if f.Func("sys_kcmp").Macro != "SYSCALL_DEFINE3" {
		t.Errorf("syscall macro")
	}
	if len(f.Vars) != 1 || f.Vars[0].Name != "max_bonds" || f.Vars[0].InitText != "1" {
		t.Errorf("vars %+v", f.Vars)
	}
	var calls []string
	for _, c := range f.Calls {
		calls = append(calls, c.Name+"("+strings.Join(c.Args, ",")+")")
	}
	if diff := cmp.Diff([]string{"EXPORT_SYMBOL(foo)", "DEFINE_MUTEX(lock)"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(f.Decls) != 1 || f.Decls[0].Kind != Prototype || f.Decls[0].Name != "proto" {
		t.Errorf("decls %+v", f.Decls)
	}
}

func TestMacrosAndGuard(t *testing.T) {
	src := "/* hdr */\n#ifndef _X_H\n#define _X_H\n#define A 1\n#define F(a, b) \\\n\t((a) + (b)) /* sum */\n#if IS_ENABLED(CONFIG_Y)\nint y;\n#elif defined(CONFIG_Z)\nint z;\n#endif\n#endif\n"
	f := Parse("x.h", []byte(src))
	if f.Guard != "_X_H" {
		t.Errorf("guard %q", f.Guard)
	}
	m := f.Macro("F")
	if m == nil || !m.FuncLike || strings.Join(m.Params, ",") != "a,b" || m.Body != "((a) + (b))" {
		t.Errorf("macro F: %+v", m)
	}
	if len(f.Vars) != 2 || f.Vars[0].Cond.String() != "IS_ENABLED(CONFIG_Y)" || f.Vars[1].Cond.String() != "!(IS_ENABLED(CONFIG_Y)) && defined(CONFIG_Z)" {
		t.Errorf("conds: %q %q", f.Vars[0].Cond, f.Vars[1].Cond)
	}
}

// TestMacroStatementsWithoutSemicolon: DEFINE_FREE(...) and DEFINE_GUARD(...)
// end without a ';' (include/linux/device.h); they are macro calls of their
// own, not the start of the prototype that follows.
func TestMacroStatementsWithoutSemicolon(t *testing.T) {
	src := "DEFINE_FREE(put_device, struct device *, if (_T) put_device(_T))\n" +
		"DEFINE_GUARD(device, struct device *, device_lock(_T), device_unlock(_T))\n" +
		"int device_add(struct device *dev);\n" +
		"SYSCALL_DEFINE1(close, unsigned int, fd)\n{\n\treturn 0;\n}\n" +
		"DECLARE_PER_CPU(int, foo);\n"
	f := Parse("include/linux/device.h", []byte(src))
	var got []string
	for _, c := range f.Calls {
		got = append(got, "call "+c.Name+"("+strings.Join(c.Args, "|")+")")
	}
	for _, d := range f.Decls {
		got = append(got, string(d.Kind)+" "+d.Name+": "+d.Text)
	}
	for _, fn := range f.Funcs {
		got = append(got, "func "+fn.Name)
	}
	want := []string{
		"call DEFINE_FREE(put_device|struct device *|if (_T) put_device(_T))",
		"call DEFINE_GUARD(device|struct device *|device_lock(_T)|device_unlock(_T))",
		"call DECLARE_PER_CPU(int|foo)",
		"prototype device_add: int device_add(struct device *dev)",
		"func sys_close",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestFunctionPointerVariableIsNoPrototype: "extern int (*platform_notify)
// (struct device *dev);" in include/linux/device.h declares a variable; it
// was once read as a prototype named "int". A __printf(...) in front of a
// prototype is an attribute, not its name.
func TestFunctionPointerVariableIsNoPrototype(t *testing.T) {
	src := "extern int (*platform_notify)(struct device *dev);\n" +
		"__printf(3, 4) int dev_err_probe(const struct device *dev, int err, const char *fmt, ...);\n" +
		"PAGEFLAG(Error, error, PF_NO_TAIL) TESTCLEARFLAG(Error, error, PF_NO_TAIL)\n" +
		"void folio_end_writeback(struct folio *folio);\n"
	f := Parse("include/linux/device.h", []byte(src))
	var got []string
	for _, d := range f.Decls {
		got = append(got, string(d.Kind)+" "+d.Name)
	}
	for _, v := range f.Vars {
		got = append(got, "var "+v.Name)
	}
	for _, c := range f.Calls {
		got = append(got, "call "+c.Name)
	}
	want := []string{"prototype dev_err_probe", "prototype folio_end_writeback", "var platform_notify", "call PAGEFLAG", "call TESTCLEARFLAG"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
