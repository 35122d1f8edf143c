package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/kbuild"
)

// TestIncludedFileCompilesAsUnit compiles two .c files that are no objects
// of their own (unit.c #includes them, as kernel/sched/build_policy.c does
// rt.c and deadline.c): each is compiled as the unit, once for both, with
// the variant's copy of an included file and what is appended to it; the
// diagnostics name the included files' own lines.
func TestIncludedFileCompilesAsUnit(t *testing.T) {
	c := miniCompiler(t, map[string]string{
		"Kbuild":        "obj-y += core/\n",
		"config":        "CONFIG_64BIT=y\nCONFIG_X86_64=y\n",
		"core/Makefile": "obj-y += unit.o\n",
		"core/unit.c":   "int base(void)\n{\n\treturn 1;\n}\n#include \"a.c\"\n#include \"b.c\"\n",
		"core/a.c":      "int a(void)\n{\n\treturn base();\n}\n",
		"core/b.c":      "int b(void)\n{\n\treturn a();\n}\n",
	})
	v := &Variant{Name: "unit", Files: map[string][]byte{
		// b.c's call now names what a.c no longer defines
		"core/a.c": []byte("int a2(void)\n{\n\treturn base();\n}\n"),
	}}
	opt := Options{SyntaxOnly: true, Append: map[string]string{"core/b.c": "int probe = undefined_probe;\n"}}
	rs, err := c.Compile(context.Background(), v, []string{"core/b.c", "core/a.c"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Source, Unit string
		Failed       bool
		Errors       []string
	}
	var gots []got
	for _, r := range rs {
		g := got{Source: r.Source, Unit: r.Unit, Failed: r.Failed}
		for _, d := range Errors([]*Result{r}) {
			g.Errors = append(g.Errors, d.File+":"+d.Message)
		}
		gots = append(gots, g)
	}
	want := []got{
		{Source: "core/b.c", Unit: "core/unit.c", Failed: true},
		{Source: "core/a.c", Unit: "core/unit.c", Failed: true},
	}
	for i := range gots {
		if e := gots[i].Errors; len(e) != 2 || !strings.HasPrefix(e[0], "core/b.c:") || !strings.Contains(e[0], "'a'") || !strings.HasPrefix(e[1], "core/b.c:") || !strings.Contains(e[1], "undefined_probe") {
			t.Errorf("%s: errors %q, want the call of a() and the appended probe, in b.c", gots[i].Source, e)
		}
		gots[i].Errors = nil
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, d := range Errors(rs[:1]) {
		if d.File != "core/b.c" {
			t.Errorf("diagnostic in %s, want core/b.c: %v", d.File, d)
		}
	}
}

// miniCompiler writes a miniature tree (tree-relative path -> text; its
// config in "config") and returns a compiler for it, one job at a time.
func miniCompiler(t *testing.T, files map[string]string) *Compiler {
	t.Helper()
	root := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, err := kbuild.Open(root, filepath.Join(root, "config"), kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return &Compiler{Env: env, Dir: t.TempDir(), Jobs: 1}
}
