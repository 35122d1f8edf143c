package kbuild

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kprewrite/kprewrite/internal/realkernel"
)

// TestRealSiblingCommands derives every compile command of the complete
// build from the first other file of its directory and compares it with
// the one kbuild recorded: where the Makefiles leave no room for a
// difference, the derivation must be exact; it must also take most
// files (or a prepared tree gains nothing).
func TestRealSiblingCommands(t *testing.T) {
	src, build := realkernel.Tree(t)
	env, err := Open(src, filepath.Join(build, ".config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string][]string{} // directory -> its objects' sources
	err = filepath.WalkDir(build, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), ".") || !strings.HasSuffix(d.Name(), ".o.cmd") {
			return err
		}
		rel, _ := filepath.Rel(build, filepath.Dir(p))
		base := strings.TrimSuffix(strings.TrimPrefix(d.Name(), "."), ".o.cmd")
		if s := filepath.ToSlash(filepath.Join(rel, base+".c")); env.Tree.Exists(s) {
			byDir[rel] = append(byDir[rel], s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	args := func(rel string) []string {
		cf, err := ReadCmdFile(cmdPath(build, strings.TrimSuffix(rel, ".c")+".o"))
		if err != nil {
			return nil
		}
		a, err := cf.CompilerArgs()
		if err != nil {
			return nil
		}
		return a
	}
	derived, refused, total := 0, 0, 0
	for _, srcs := range byDir {
		slices.Sort(srcs)
		for _, rel := range srcs[1:] {
			sib := srcs[0]
			want, from := args(rel), args(sib)
			if want == nil || from == nil || !strings.HasPrefix(filepath.Base(want[0]), "gcc") && !strings.Contains(want[0], "gcc") {
				continue
			}
			total++
			got := env.deriveFrom(from, sib, rel)
			if got == nil {
				refused++
				continue
			}
			derived++
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s derived from %s differs from kbuild's command (-kbuild +derived):\n%s", rel, sib, diff)
			}
		}
	}
	t.Logf("%d commands: %d derived exactly from a sibling, %d left to make", total, derived, refused)
	if total == 0 || derived*2 < total {
		t.Errorf("only %d of %d commands derived", derived, total)
	}
}

// TestDeriveFrom derives commands in a miniature tree: a member of a
// composite module from another member, and nothing where kbuild could
// build the two differently (another kind of object, a file with flags of
// its own).
func TestDeriveFrom(t *testing.T) {
	root := t.TempDir()
	for rel, text := range map[string]string{
		"Kbuild":     "obj-y += d/\n",
		"config":     "CONFIG_64BIT=y\nCONFIG_X86_64=y\nCONFIG_M=m\n",
		"d/Makefile": "obj-$(CONFIG_M) += m.o\nm-y := a.o b-x.o\nobj-y += c.o e.o\nCFLAGS_e.o += -DE_ONLY\n",
		"d/a.c":      "int a;\n", "d/b-x.c": "int b;\n", "d/c.c": "int c;\n", "d/e.c": "int e;\n",
	} {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, err := Open(root, filepath.Join(root, "config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(base, mod string, module bool) []string {
		a := []string{"gcc", "-Wp,-MMD,d/." + base + ".o.d", "-nostdinc", "-O2", "-I./d"}
		if module {
			a = append(a, "-DMODULE")
		}
		fixed := strings.ReplaceAll(base, "-", "_")
		return append(a, `-DKBUILD_MODFILE="d/`+mod+`"`, `-DKBUILD_BASENAME="`+fixed+`"`, `-DKBUILD_MODNAME="`+strings.ReplaceAll(mod, "-", "_")+`"`,
			"-D__KBUILD_MODNAME=kmod_"+strings.ReplaceAll(mod, "-", "_"), "-c", "-o", "d/"+base+".o", root+"/d/"+base+".c")
	}
	if diff := cmp.Diff(cmd("b-x", "m", true), env.deriveFrom(cmd("a", "m", true), "d/a.c", "d/b-x.c")); diff != "" {
		t.Errorf("b-x.c from a.c, members of module m (-want +got):\n%s", diff)
	}
	if got := env.deriveFrom(cmd("c", "c", false), "d/c.c", "d/a.c"); got != nil {
		t.Errorf("a.c (module m) derived from c.c (vmlinux): %q", got)
	}
	if got := env.deriveFrom(cmd("c", "c", false), "d/c.c", "d/e.c"); got != nil {
		t.Errorf("e.c, which has CFLAGS_e.o, derived from c.c: %q", got)
	}
}
