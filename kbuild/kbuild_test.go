package kbuild

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/internal/realkernel"
	"github.com/kprewrite/kprewrite/tree"
)

func TestEvalCond(t *testing.T) {
	cfg, err := ParseConfig([]byte("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_N=32\n"))
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]Tri{
		"defined(CONFIG_A)":                           True,
		"defined CONFIG_B":                            False, // modules define CONFIG_B_MODULE
		"IS_ENABLED(CONFIG_B)":                        True,
		"IS_BUILTIN(CONFIG_B) || IS_MODULE(CONFIG_C)": False,
		"CONFIG_N > 16 && !defined(CONFIG_C)":         True,
		"defined(CONFIG_D)":                           False,
		"defined(SOME_ARCH_MACRO)":                    TriUnknown,
		"defined(SOME_ARCH_MACRO) && CONFIG_C":        False,
		"defined(SOME_ARCH_MACRO) || CONFIG_A":        True,
		"0":                                           False,
	} {
		if got := cfg.EvalExpr(expr); got != want {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}
	var none *Config
	if got := none.EvalExpr("defined(CONFIG_A)"); got != TriUnknown {
		t.Errorf("no config: %v", got)
	}
	cond := ast.Cond{{Expr: "defined(CONFIG_A)", Want: true}, {Expr: "defined(CONFIG_C)", Want: false}}
	if cfg.EvalCond(cond) != True {
		t.Errorf("EvalCond")
	}
}

func TestMakefilesSeed(t *testing.T) {
	tr, err := tree.Open("../testdata/kernels/seed")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig("../testdata/kernels/seed/.config")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMakefiles(tr, cfg)
	got := map[string]string{}
	for _, f := range []string{"net/core/dev.c", "drivers/net/bonding/bond_main.c", "drivers/net/bonding/bond_procfs.c", "drivers/net/lagmon/lagmon.c", "kernel/printk.c", "drivers/net/nosuch/x.c"} {
		got[f] = m.ObjectOf(f).Name()
	}
	want := map[string]string{"net/core/dev.c": "vmlinux", "drivers/net/bonding/bond_main.c": "bonding", "drivers/net/bonding/bond_procfs.c": "bonding",
		"drivers/net/lagmon/lagmon.c": "lagmon", "kernel/printk.c": "vmlinux", "drivers/net/nosuch/x.c": "unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Without CONFIG_PROC_FS, bond_procfs.o is not built.
	cfg2, _ := ParseConfig([]byte("CONFIG_NET=y\nCONFIG_NETDEVICES=y\nCONFIG_BONDING=m\n"))
	if o := NewMakefiles(tr, cfg2).ObjectOf("drivers/net/bonding/bond_procfs.c"); o.Kind != NotBuilt {
		t.Errorf("bond_procfs.c without PROC_FS: %+v", o)
	}
	// Built in.
	cfg3, _ := ParseConfig([]byte("CONFIG_NET=y\nCONFIG_NETDEVICES=y\nCONFIG_BONDING=y\n"))
	if o := NewMakefiles(tr, cfg3).ObjectOf("drivers/net/bonding/bond_main.c"); o.Kind != Vmlinux {
		t.Errorf("BONDING=y: %+v", o)
	}
}

func TestShellSplitAndCmdFile(t *testing.T) {
	cmd := `cmd_x/a.o := gcc -Wp,-MMD,x/.a.o.d -DKBUILD_MODNAME='"bonding"' -D"KBUILD_STR(s)=\#s" -c -o x/a.o /src/x/a.c   ; ./tools/objtool/objtool --orc x/a.o`
	cf, err := ParseCmdFile(cmd + "\n\nsource_x/a.o := /src/x/a.c\n\ndeps_x/a.o := \\\n  /src/include/linux/kernel.h \\\n    $(wildcard include/config/FOO) \\\n  /src/x/a.h \\\n\nx/a.o: $(deps_x/a.o)\n")
	if err != nil {
		t.Fatal(err)
	}
	args, err := cf.CompilerArgs()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gcc", "-Wp,-MMD,x/.a.o.d", `-DKBUILD_MODNAME="bonding"`, `-DKBUILD_STR(s)=\#s`, "-c", "-o", "x/a.o", "/src/x/a.c"}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/src/include/linux/kernel.h", "/src/x/a.h"}, cf.Deps); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
	// Linux 6.3 and later write savedcmd_.
	cf, err = ParseCmdFile("saved" + cmd + "\n")
	if err != nil || cf.Object != "x/a.o" {
		t.Errorf("savedcmd_: %+v %v", cf, err)
	}
}

// TestRealEnvRedirect uses the build of the pristine tree for a derived
// copy: commands must name the copy, not the pristine tree.
func TestRealEnvRedirect(t *testing.T) {
	src, build := realkernel.Tree(t)
	derived := realkernel.Derive(t, src, map[string]func(string) string{
		"include/net/bonding.h": func(s string) string { return s + "\n/* derived */\n" },
	})
	env, err := Open(derived, filepath.Join(build, ".config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.CompileCommand("drivers/net/bonding/bond_main.c")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(c.Args, " ")
	if strings.Contains(joined, src+"/") || !strings.Contains(joined, derived+"/include") {
		t.Errorf("command not redirected to the derived tree: %s", joined)
	}
	if !c.IsMod || c.Module != "bonding" {
		t.Errorf("module %q %v", c.Module, c.IsMod)
	}
	users, how, err := env.Includers("include/net/bonding.h")
	if err != nil || len(users) < 5 || !strings.Contains(how, "kbuild dependency records") {
		t.Errorf("includers %v (%s) %v", users, how, err)
	}
}
