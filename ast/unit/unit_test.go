package unit

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const src = `#define warn_once(msg) ({ static _Bool __section(".data.once") __already_done; \
	if (!__already_done) { __already_done = 1; say(msg); } })
#define __section(s) __attribute__((__section__(s)))
void say(const char *);
static int counter;

int plain(int x)
{
	static const char *const names[] = { "a", "b" };
	int y = x + counter;

	if (y) {
		static unsigned long last, n;

		n++;
		last = y;
	}
	return names[y & 1][0];
}

void noisy(void)
{
	warn_once("hello");
	warn_once("again");
}

static inline int none(void) { return 1; }

int addressable(void)
{
	static void * __section(".discard.addressable") __attribute__((__used__)) __UNIQUE_ID_addressable_counter = (void *)&counter;
	return 0;
}
`

// preprocess runs gcc -E like kprewrite does on kernel units.
func preprocess(t *testing.T, text string) []byte {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.c")
	os.WriteFile(p, []byte(text), 0o644)
	out, err := exec.Command("gcc", "-E", "-o", "-", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStaticLocals(t *testing.T) {
	u, err := Parse("a.i", preprocess(t, src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]Static{}
	for _, f := range u.Funcs {
		got[f.Name] = f.Statics
		for i := range f.Statics {
			f.Statics[i].File = filepath.Base(f.Statics[i].File)
		}
	}
	want := map[string][]Static{
		"plain": {
			{Name: "names", Type: "static const char * const names [ ]", File: "a.c", Line: 9, ReadOnly: true},
			{Name: "last", Type: "static unsigned long last", File: "a.c", Line: 13},
			{Name: "n", Type: "static unsigned long n", File: "a.c", Line: 13},
		},
		"noisy": {
			{Name: "__already_done", Type: "static _Bool __already_done", File: "a.c", Line: 23},
			{Name: "__already_done", Type: "static _Bool __already_done", File: "a.c", Line: 24},
		},
		"none": nil,
		"addressable": {
			{Name: "__UNIQUE_ID_addressable_counter", Type: "static void * __UNIQUE_ID_addressable_counter", File: "a.c", Line: 31, Discarded: true},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("statics (-want +got):\n%s", d)
	}
	if f := u.Funcs[0]; f.Name != "plain" || filepath.Base(f.File) != "a.c" || f.Line != 7 {
		t.Errorf("first function %s at %s:%d, want plain at a.c:7", f.Name, f.File, f.Line)
	}
}

func TestParseError(t *testing.T) {
	if _, err := Parse("bad.i", []byte("int f( {")); err == nil {
		t.Error("no error for broken input")
	}
}

func TestReadOnly(t *testing.T) {
	for _, c := range []struct {
		spec, decl string
		want       bool
	}{
		{"static const u16", "ds", true},
		{"static const char", "* msg", false},
		{"static const char", "* const names [ ]", true},
		{"static bool", "__already_done", false},
		{"static struct lock_class_key", "__key", false},
	} {
		if got := readOnly(c.spec, c.decl); got != c.want {
			t.Errorf("readOnly(%q, %q) = %v, want %v", c.spec, c.decl, got, c.want)
		}
	}
}
