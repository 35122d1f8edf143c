package build

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/kbuild"
)

func TestSameUnit(t *testing.T) {
	base := "# 1 \"a.c\"\n# 1 \"include/linux/x.h\" 1\nstatic inline int x(void) { return 1; }\n# 3 \"a.c\" 2\nint f(void) { return x() + 12; }\n"
	for _, c := range []struct {
		name, other string
		want        bool
	}{
		{"identical", base, true},
		{"lines moved", "# 1 \"a.c\"\n# 1 \"include/linux/x.h\" 1\n\n\n\nstatic inline int x(void) { return 1; }\n# 9 \"a.c\" 2\nint f(void) { return x() + 12; }\n", true},
		{"__LINE__ expanded differently", "# 1 \"a.c\"\n# 1 \"include/linux/x.h\" 1\nstatic inline int x(void) { return 1; }\n# 3 \"a.c\" 2\nint f(void) { return x() + 13; }\n", false},
		{"a declaration more", base + "int g(void);\n", false},
		{"a line less", "# 1 \"a.c\"\nint f(void) { return x() + 12; }\n", false},
	} {
		if got := SameUnit([]byte(base), []byte(c.other)); got != c.want {
			t.Errorf("%s: SameUnit = %v, want %v", c.name, got, c.want)
		}
	}
	line := "int f(void) { return __builtin_LINE(); }\n"
	if SameUnit([]byte(line), []byte(line)) {
		t.Error("a unit that asks for __builtin_LINE counts as the same")
	}
}

// TestSplitByPreprocessed preprocesses the two includers of ringmode.h in
// the hdr tree with a macro respelled: the file that expands the macro
// differs, the one that does not is the same; a file named in compile is
// never the same.
func TestSplitByPreprocessed(t *testing.T) {
	env, err := kbuild.Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := &Compiler{Env: env, Dir: t.TempDir(), Jobs: 2}
	hdr, err := env.Tree.ReadFile("include/linux/ringmode.h")
	if err != nil {
		t.Fatal(err)
	}
	respelled := strings.Replace(string(hdr), "RING_MODE_DEFAULT\tRING_MODE_POLL", "RING_MODE_DEFAULT\t(RING_MODE_POLL)", 1)
	if respelled == string(hdr) {
		t.Fatal("the hdr tree's ringmode.h has no RING_MODE_DEFAULT to respell")
	}
	// a comment line more moves every line after it: no difference
	respelled = strings.Replace(respelled, "enum ring_mode {", "/* the modes */\nenum ring_mode {", 1)
	a := &Variant{Name: "a", Files: map[string][]byte{"include/linux/ringmode.h": []byte(respelled)}}
	b := &Variant{Name: "b", Files: map[string][]byte{}}
	srcs := []string{"drivers/ringdev/ringmode.c", "drivers/ringdev/ringmodecheck.c"}
	same, differ, err := c.SplitByPreprocessed(context.Background(), a, b, srcs, nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"drivers/ringdev/ringmodecheck.c"}, same); diff != "" {
		t.Errorf("same (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"drivers/ringdev/ringmode.c"}, differ); diff != "" {
		t.Errorf("differ (-want +got):\n%s", diff)
	}
	same, _, err = c.SplitByPreprocessed(context.Background(), a, b, srcs, map[string]bool{"include/linux/ringmode.h": true}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(same) != 0 {
		t.Errorf("units that read a file to compile counted as the same: %v", same)
	}
}
