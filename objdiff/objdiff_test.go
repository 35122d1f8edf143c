package objdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	if got := Compare(a, read(table)); len(got) != 1 || got[0] != (Change{"tbl", "changed"}) {
		t.Errorf("changed table: Compare = %v, want tbl changed", got)
	}
	if fs, _ := Functions(compile(t, table, "-fno-data-sections")); len(Compare(mustFuncs(t, macro), fs)) != 0 {
		t.Errorf("Functions sees the table change; it should read functions only")
	}
}

func mustFuncs(t *testing.T, src string) map[string]Func {
	fs, err := Functions(compile(t, src, "-fno-data-sections"))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
