package objdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// compile builds src with the flags kbuild uses for ftrace on x86_64.
func compile(t *testing.T, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	c, o := filepath.Join(dir, "f.c"), filepath.Join(dir, "f.o")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-O2", "-c", "-ffunction-sections", "-fdata-sections", "-o", o, c}, flags...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return o
}

const traceSrc = `
#define notrace __attribute__((__no_instrument_function__))
int counter;
void traced(int v) { counter += v; }
notrace void untraced(int v) { counter -= v; }
static inline notrace __attribute__((noinline)) int helper(int v) { return v * counter; }
int user(int v) { return helper(v) + 1; }
`

func TestTraceable(t *testing.T) {
	for _, flags := range [][]string{
		{"-pg", "-mfentry", "-mrecord-mcount"},
		{"-pg", "-mfentry", "-mrecord-mcount", "-fcf-protection=branch"}, // endbr64 before the call
	} {
		fs, err := Functions(compile(t, traceSrc, flags...))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"traced": true, "untraced": false, "helper": false, "user": true}
		for name, traceable := range want {
			f, ok := fs[name]
			if !ok {
				t.Fatalf("%v: no function %s in %v", flags, name, fs)
			}
			if f.Traceable != traceable {
				t.Errorf("%v: %s traceable %v, want %v", flags, name, f.Traceable, traceable)
			}
		}
	}
	// without -pg nothing is traceable
	fs, err := Functions(compile(t, traceSrc))
	if err != nil {
		t.Fatal(err)
	}
	if fs["traced"].Traceable {
		t.Errorf("traced is traceable without -pg")
	}
}

func TestCompareIgnoresAddendsButNotStrings(t *testing.T) {
	a, err := Functions(compile(t, `extern int p(const char *); int f(void) { return p("one"); } int g(void) { return p("x"); }`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Functions(compile(t, `extern int p(const char *); int f(void) { return p("two"); } int g(void) { return p("x"); }`))
	if err != nil {
		t.Fatal(err)
	}
	got := Compare(a, b)
	if len(got) != 1 || got[0] != (Change{"f", "changed"}) {
		t.Errorf("Compare = %v, want only f changed", got)
	}
}

func TestCodeSeesDataAndIgnoresSpelling(t *testing.T) {
	// a macro respelled as an inline (tpm_eventlog.h's TPM_MEMREMAP) is
	// the same program; a changed table entry is not, though no function
	// changes
	macro := `#define MAP(a, b) ((void *)0)
extern void use(void *);
static const int tbl[3] = {1, 2, 3};
const int *t(void) { return tbl; }
void f(unsigned long a) { use(MAP(a, 4)); }`
	inline := `static inline void *MAP(unsigned long a, unsigned long b) { return (void *)0; }
extern void use(void *);
static const int tbl[3] = {1, 2, 3};
const int *t(void) { return tbl; }
void f(unsigned long a) { use(MAP(a, 4)); }`
	table := strings.Replace(macro, "{1, 2, 3}", "{1, 2, 4}", 1)
	read := func(src string) map[string]Func {
		c, err := Code(compile(t, src, "-fno-data-sections"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := read(macro)
	if got := Compare(a, read(inline)); len(got) != 0 {
		t.Errorf("macro -> inline: Compare = %v, want the same code", got)
	}
	// the table changes, and so does the function that reaches it (local
	// data is named by its content)
	if got := Compare(a, read(table)); len(got) != 2 || got[0] != (Change{"t", "changed"}) || got[1] != (Change{"tbl", "changed"}) {
		t.Errorf("changed table: Compare = %v, want t and tbl changed", got)
	}
}

func TestLocalDataNamedByContent(t *testing.T) {
	// gcc and __COUNTER__ number local data (CSWTCH.298,
	// __UNIQUE_ID_ddebug509): an unrelated addition to the file renumbers
	// it. A reference is the data it reaches, not its number.
	src := func(name, vals string) string {
		return "static const int " + name + "[3] = {" + vals + "};\nconst int *f(int i) { return &" + name + "[i]; }\n"
	}
	for _, flags := range [][]string{nil, {"-fno-data-sections"}} {
		a, err := Functions(compile(t, src("tab_7", "1, 2, 3"), flags...))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Functions(compile(t, src("tab_8", "1, 2, 3"), flags...))
		c, _ := Functions(compile(t, src("tab_8", "1, 2, 4"), flags...))
		if got := Compare(a, b); len(got) != 0 {
			t.Errorf("%v: renumbered table: Compare = %v, want no change", flags, got)
		}
		if got := Compare(a, c); len(got) != 1 || got[0] != (Change{"f", "changed"}) {
			t.Errorf("%v: changed table: Compare = %v, want f changed", flags, got)
		}
	}
}

// TestPlaceInDataAndBss: the place a function reaches in a named object
// (arr[1] or arr[2]: only the relocation's addend differs) and the size
// of zeroed data (a buffer a fix enlarges) are part of what is compared.
func TestPlaceInDataAndBss(t *testing.T) {
	src := `int hits[4]; static char name[8]; extern void fill(char *);
void count(void) { hits[1]++; }
void naming(void) { fill(name); }`
	read := func(src string) map[string]Func { return codeOf(t, src) }
	a := read(src)
	if got := Compare(a, read(strings.Replace(src, "hits[1]", "hits[2]", 1))); len(got) != 1 || got[0] != (Change{"count", "changed"}) {
		t.Errorf("another element: Compare = %v, want count changed", got)
	}
	if got := Compare(a, read(strings.Replace(src, "name[8]", "name[16]", 1))); len(got) != 1 || got[0] != (Change{"name", "changed"}) {
		t.Errorf("a larger buffer: Compare = %v, want name changed", got)
	}
}

// TestProgramSeesSectionsWithoutSymbols: an alternative's replacement code
// and a bug entry's flags live in sections no symbol covers; Program
// compares them, a bug entry's line does not count.
func TestProgramSeesSectionsWithoutSymbols(t *testing.T) {
	src := `void f(void) { asm volatile(".pushsection .altinstr_replacement,\"ax\"\n lfence\n .popsection"); }
void g(void) { asm volatile("1:\n.pushsection __bug_table,\"aw\"\n.long 1b - .\n.long 0\n.word 17\n.word 0\n.popsection"); }`
	read := func(src string) map[string]Func {
		c, err := Program(compile(t, src))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := read(src)
	if got := Compare(a, read(strings.Replace(src, "lfence", "mfence", 1))); len(got) != 1 || got[0].Name != "[section .altinstr_replacement]" {
		t.Errorf("another replacement: Compare = %v, want the section changed", got)
	}
	if got := Compare(a, read(strings.Replace(src, ".word 0\\n.popsection", ".word 1\\n.popsection", 1))); len(got) != 1 || got[0].Name != "[section __bug_table]" {
		t.Errorf("other bug flags: Compare = %v, want the section changed", got)
	}
	if got := Compare(a, read(strings.Replace(src, ".word 17", ".word 18", 1))); len(got) != 0 {
		t.Errorf("another line: Compare = %v, want no change", got)
	}
	if c, err := Code(compile(t, strings.Replace(src, "lfence", "mfence", 1))); err != nil || len(Compare(c, func() map[string]Func { c, _ := Code(compile(t, src)); return c }())) != 0 {
		t.Errorf("Code compares the sections (%v)", err)
	}
}

// TestFieldOfStaticBss: gas reaches a local object through its section
// symbol (.bss.cmd+4); a field that moves inside a static struct changes
// the function that writes it, and which constant of a merged section a
// function loads is part of it too.
func TestFieldOfStaticBss(t *testing.T) {
	src := `struct cmd { unsigned int opcode; unsigned int len; unsigned long tag; };
static struct cmd cmd; extern void send(void *);
void go(unsigned int op) { cmd.opcode = op; cmd.len = 4; send(&cmd); }`
	read := func(src string) map[string]Func { return codeOf(t, src) }
	a := read(src)
	moved := strings.Replace(src, "{ unsigned int opcode; unsigned int len; unsigned long tag; }", "{ unsigned long tag; unsigned int opcode; unsigned int len; }", 1)
	if got := Compare(a, read(moved)); len(got) == 0 {
		t.Errorf("fields moved inside a static struct: Compare = %v, want go changed", got)
	}
	if got := Compare(a, read(src)); len(got) != 0 {
		t.Errorf("the same source: Compare = %v, want none", got)
	}
}

// TestConstantLabel: a constant gcc loads from a merged section through a
// local label (.LC0 in .rodata.cst8) is compared by what it holds.
func TestConstantLabel(t *testing.T) {
	read := func(v string) map[string]Func { return codeOf(t, "double scale(double x) { return x * "+v+"; }\n") }
	if got := Compare(read("1.5"), read("2.5")); len(got) != 1 || got[0] != (Change{"scale", "changed"}) {
		t.Errorf("another constant: Compare = %v, want scale changed", got)
	}
}

// codeOf compiles src and reads its Code.
func codeOf(t *testing.T, src string) map[string]Func {
	t.Helper()
	c, err := Code(compile(t, src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCodeMarksData: Code's data objects are marked, and its functions
// are exactly what Functions reads (verify reads each object once).
func TestCodeMarksData(t *testing.T) {
	obj := compile(t, `int counter = 3;
static int zeroed[4];
int *z(void) { return zeroed; }
int f(int a) { return a + counter; }`)
	code, err := Code(obj)
	if err != nil {
		t.Fatal(err)
	}
	funcs, err := Functions(obj)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Func{}
	for name, f := range code {
		if !f.Data {
			got[name] = f
		}
	}
	if diff := cmp.Diff(funcs, got); diff != "" {
		t.Errorf("Functions vs Code's functions (-want +got):\n%s", diff)
	}
	for _, name := range []string{"counter", "zeroed"} {
		if !code[name].Data {
			t.Errorf("%s: Data = false, want a data object (%+v)", name, code[name])
		}
	}
}
