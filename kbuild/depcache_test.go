package kbuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/internal/rcache"
)

// TestDepIndexCached: the header users read from a complete build's .cmd
// records come from the result cache on the next run, and a rewritten
// record (a rebuilt object) is read again.
func TestDepIndexCached(t *testing.T) {
	src, obj, cache := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(p, text string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(src, "scripts", "Makefile.build"), "")
	write(filepath.Join(src, "include", "linux", "x.h"), "")
	write(filepath.Join(src, "kernel", "a.c"), "")
	write(filepath.Join(src, "kernel", "b.c"), "")
	write(filepath.Join(obj, ".config"), "CONFIG_X=y\n")
	write(filepath.Join(obj, "include", "generated", "autoconf.h"), "")
	write(filepath.Join(obj, "vmlinux"), "")
	record := func(name string, deps ...string) string {
		s := "savedcmd_kernel/" + name + ".o := gcc -c -o kernel/" + name + ".o " + src + "/kernel/" + name + ".c\n" +
			"source_kernel/" + name + ".o := " + src + "/kernel/" + name + ".c\n" + "deps_kernel/" + name + ".o := \\\n"
		for _, d := range deps {
			s += "  " + src + "/" + d + " \\\n"
		}
		return s + "\nkernel/" + name + ".o: $(deps_kernel/" + name + ".o)\n"
	}
	write(filepath.Join(obj, "kernel", ".a.o.cmd"), record("a", "include/linux/x.h"))
	write(filepath.Join(obj, "kernel", ".b.o.cmd"), record("b"))
	users := func() []string { return includersWithCache(t, src, filepath.Join(obj, ".config"), cache, true) }
	if d := cmp.Diff([]string{"kernel/a.c"}, users()); d != "" {
		t.Errorf("first run (-want +got):\n%s", d)
	}
	// a second run reads the cached index: hide a record's content to see it
	p := filepath.Join(obj, "kernel", ".a.o.cmd")
	st, _ := os.Stat(p)
	data, _ := os.ReadFile(p)
	// same size and time, so the key is unchanged; read again, a.c would not include x.h
	write(p, strings.Replace(string(data), "linux/x.h", "linux/y.h", 1))
	os.Chtimes(p, st.ModTime(), st.ModTime())
	if d := cmp.Diff([]string{"kernel/a.c"}, users()); d != "" {
		t.Errorf("second run, from the cache (-want +got):\n%s", d)
	}
	// b rebuilt with the header: its record changes, the index is read
	// again (a's edited record included)
	write(filepath.Join(obj, "kernel", ".b.o.cmd"), record("b", "include/linux/x.h"))
	os.Chtimes(filepath.Join(obj, "kernel", ".b.o.cmd"), time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if d := cmp.Diff([]string{"kernel/b.c"}, users()); d != "" {
		t.Errorf("after a rebuilt record (-want +got):\n%s", d)
	}
}

// TestIncludeGraphCached: without a complete build the header users come
// from the textual #include graph; the next run takes it from the result
// cache (reading the tree again costs tens of seconds on a real one), or,
// run without one (--no-result-cache), from the work area, and an edited
// source file makes the graph read again.
func TestIncludeGraphCached(t *testing.T) {
	for _, withResults := range []bool{true, false} {
		src, cache, work := t.TempDir(), t.TempDir(), t.TempDir()
		if !withResults {
			cache = ""
		}
		write := treeWriter(t, src)
		write("scripts/Makefile.build", "")
		write("include/linux/x.h", "")
		write("include/linux/y.h", "#include <linux/x.h>\n")
		write("kernel/a.c", "#include <linux/y.h>\n")
		write("kernel/b.c", "// no includes here.\n")
		write(".config", "CONFIG_X=y\n")
		users := func() []string {
			return includersIn(t, src, filepath.Join(src, ".config"), cache, work, false)
		}
		if d := cmp.Diff([]string{"kernel/a.c"}, users()); d != "" {
			t.Errorf("result cache %v: first run (-want +got):\n%s", withResults, d)
		}
		// same size and time: the key is unchanged, so the kept graph
		// answers (read again, b.c would include x.h)
		p := filepath.Join(src, "kernel", "b.c")
		st, _ := os.Stat(p)
		write("kernel/b.c", "#include <linux/x.h>\n")
		os.Chtimes(p, st.ModTime(), st.ModTime())
		if d := cmp.Diff([]string{"kernel/a.c"}, users()); d != "" {
			t.Errorf("result cache %v: second run, from what the first kept (-want +got):\n%s", withResults, d)
		}
		// an edit the key sees: the tree is read again
		os.Chtimes(p, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
		if d := cmp.Diff([]string{"kernel/a.c", "kernel/b.c"}, users()); d != "" {
			t.Errorf("result cache %v: after an edit (-want +got):\n%s", withResults, d)
		}
	}
}

// includersWithCache opens the tree src with config and the result cache
// in cache (a fresh Env and work area, as a new run would) and returns the
// users of include/linux/x.h; built says whether the tree must have a
// complete build.
func includersWithCache(t *testing.T, src, config, cache string, built bool) []string {
	t.Helper()
	return includersIn(t, src, config, cache, t.TempDir(), built)
}

// includersIn is includersWithCache with the work areas under work, and
// no result cache when cache is "".
func includersIn(t *testing.T, src, config, cache, work string, built bool) []string {
	t.Helper()
	ctx := context.Background()
	if cache != "" {
		ctx = rcache.With(ctx, rcache.Open(cache, nil))
	}
	env, err := Open(src, config, Options{Context: ctx, CacheDir: work})
	if err != nil {
		t.Fatal(err)
	}
	if env.HasBuild() != built {
		t.Fatalf("complete build: %v, want %v", env.HasBuild(), built)
	}
	got, _, err := env.Includers("include/linux/x.h")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAsmIncluders(t *testing.T) {
	// assembler sources are part of the include graph: a header change
	// they see reaches code no C compile shows (samecode refuses it)
	src := t.TempDir()
	write := treeWriter(t, src)
	write("scripts/Makefile.build", "")
	write("include/linux/x.h", "")
	write("include/linux/y.h", "#include <linux/x.h>\n")
	write("arch/x86/entry/entry.S", "#include <linux/y.h>\n")
	write("kernel/a.c", "#include <linux/x.h>\n")
	write(".config", "CONFIG_X=y\n")
	env, err := Open(src, filepath.Join(src, ".config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := env.IncludeGraph()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"arch/x86/entry/entry.S"}, g.AsmIncluders("include/linux/x.h")); d != "" {
		t.Errorf("AsmIncluders (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"kernel/a.c"}, g.Includers("include/linux/x.h")); d != "" {
		t.Errorf("Includers, C files only (-want +got):\n%s", d)
	}
}

// treeWriter returns a function that writes a file of the tree at src.
func treeWriter(t *testing.T, src string) func(rel, text string) {
	return func(rel, text string) {
		p := filepath.Join(src, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
