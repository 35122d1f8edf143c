package kbuild

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
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
		// unsigned arithmetic, as gcc's preprocessor does it
		"(1u - 2) > 0":           True,
		"-1 > 0u":                True,
		"CONFIG_N > -1u":         False,
		"-1 > 0":                 False,
		"(0u - 1) >> 63":         True,
		"(-1) >> 63":             True,
		"(0u - 1) / 2 > 100":     True,
		"0xffffffffffffffff > 0": True,
	} {
		if got := cfg.EvalExpr(expr); got != want {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}
	var none *Config
	if got := none.EvalExpr("defined(CONFIG_A)"); got != TriUnknown {
		t.Errorf("no config: %v", got)
	}
	// An x86 config decides byte order, word size and the compiler's
	// architecture macros (include/uapi/linux/tcp.h, include/linux/lockref.h);
	// other configs leave them unknown.
	x86, err := ParseConfig([]byte("CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_64BIT=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]Tri{
		"defined(__LITTLE_ENDIAN_BITFIELD)":            True,
		"defined (__BIG_ENDIAN_BITFIELD)":              False,
		"BITS_PER_LONG == 64":                          True,
		"(BITS_PER_LONG > 32) || (PAGE_SIZE >= 65536)": True,
		"defined(__sparc__) && defined(__arch64__)":    False,
		"defined(__x86_64__) && !defined(__i386__)":    True,
		"defined(SOME_ARCH_MACRO)":                     TriUnknown,
	} {
		if got := x86.EvalExpr(expr); got != want {
			t.Errorf("x86: %s = %v, want %v", expr, got, want)
		}
		if got := cfg.EvalExpr(expr); got != TriUnknown {
			t.Errorf("no arch: %s = %v, want unknown", expr, got)
		}
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
		"drivers/net/lagmon/lagmon.c": "lagmon", "kernel/printk.c": "vmlinux",
		// no Makefile of its own, and drivers/net/Makefile does not list it
		"drivers/net/nosuch/x.c": "not built"}
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

// TestMakefilesComposite evaluates the Makefile shapes a distribution
// config meets: composite members in subdirectories without a Makefile,
// make functions in object lists, and lists kprewrite cannot evaluate.
func TestMakefilesComposite(t *testing.T) {
	fs := mapFS{
		"Kbuild":                    "obj-y += drivers/\n",
		"drivers/Makefile":          "obj-y += net/ odd/\nobj-$(CONFIG_GPU) += gpu/\n",
		"drivers/net/Makefile":      "obj-$(CONFIG_MLX) += mlx/\n",
		"drivers/net/mlx/Makefile":  "obj-$(CONFIG_MLX) += mlx_core.o\nmlx_core-y := main.o lag/lag.o\nmlx_core-$(CONFIG_MLX_ESW) += esw/esw.o\nmlx_core-$(CONFIG_MLX_EN) += $(addprefix en/,rx.o tx.o)\nmlx_core-$(CONFIG_MLX_EN) += $(patsubst %.c,%.o,fs/a.c)\nmlx_core-$(CONFIG_MLX_EN) += $(filter-out skip.o,keep.o skip.o)\n",
		"drivers/odd/Makefile":      "obj-y += $(call odd_objects,a)\n",
		"drivers/gpu/Makefile":      "ifeq ($(shell uname),Linux)\nobj-y += x.o\nendif\nobj-y += y.o\n",
		"drivers/net/mlx/lag/lag.c": "",
	}
	cfg, err := ParseConfig([]byte("CONFIG_MLX=m\n# CONFIG_MLX_ESW is not set\nCONFIG_MLX_EN=y\nCONFIG_GPU=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMakefiles(fs, cfg)
	got := map[string]string{}
	for _, f := range []string{"drivers/net/mlx/main.c", "drivers/net/mlx/lag/lag.c", "drivers/net/mlx/esw/esw.c", "drivers/net/mlx/en/rx.c",
		"drivers/net/mlx/fs/a.c", "drivers/net/mlx/keep.c", "drivers/net/mlx/skip.c", "drivers/net/mlx/other/z.c",
		"drivers/odd/a.c", "drivers/gpu/x.c", "drivers/gpu/y.c", "drivers/gpu/z.c"} {
		o := m.ObjectOf(f)
		got[f] = o.Name()
		if o.Kind == Module {
			got[f] += " " + o.Path
		}
	}
	want := map[string]string{
		"drivers/net/mlx/main.c":    "mlx_core drivers/net/mlx/mlx_core",
		"drivers/net/mlx/lag/lag.c": "mlx_core drivers/net/mlx/mlx_core", // listed by its parent's composite
		"drivers/net/mlx/esw/esw.c": "not built",
		"drivers/net/mlx/en/rx.c":   "mlx_core drivers/net/mlx/mlx_core", // $(addprefix)
		"drivers/net/mlx/fs/a.c":    "mlx_core drivers/net/mlx/mlx_core", // $(patsubst)
		"drivers/net/mlx/keep.c":    "mlx_core drivers/net/mlx/mlx_core", // $(filter-out)
		"drivers/net/mlx/skip.c":    "not built",
		"drivers/net/mlx/other/z.c": "not built",
		"drivers/odd/a.c":           "unknown", // $(call) is not evaluated
		"drivers/gpu/x.c":           "unknown", // under a condition that uses $(shell)
		"drivers/gpu/y.c":           "vmlinux",
		"drivers/gpu/z.c":           "unknown", // the lists are uncertain: not "not built"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMakefilesForeign: amdgpu's Makefile includes display/Makefile (and
// through it display/dc/bios/Makefile), whose lists name ../display/...
// objects built as part of amdgpu with amdgpu's flags: the object is
// amdgpu, and make must be asked for it through amdgpu's directory.
func TestMakefilesForeign(t *testing.T) {
	t.Parallel()
	fs := mapFS{
		"Kbuild":                   "obj-y += drivers/\n",
		"drivers/Makefile":         "obj-$(CONFIG_DRM) += gpu/drm/\n",
		"drivers/gpu/drm/Makefile": "obj-$(CONFIG_DRM_AMDGPU) += amd/amdgpu/\n",
		"drivers/gpu/drm/amd/amdgpu/Makefile": "FULL_AMD_PATH=$(srctree)/$(src)/..\nDISPLAY_FOLDER_NAME=display\nFULL_AMD_DISPLAY_PATH = $(FULL_AMD_PATH)/$(DISPLAY_FOLDER_NAME)\n" +
			"amdgpu-y := amdgpu_drv.o\nifneq ($(CONFIG_DRM_AMD_DC),)\nRELATIVE_AMD_DISPLAY_PATH = ../$(DISPLAY_FOLDER_NAME)\ninclude $(FULL_AMD_DISPLAY_PATH)/Makefile\namdgpu-y += $(AMD_DISPLAY_FILES)\nendif\n" +
			"include $(srctree)/scripts/Makefile.missing\nobj-$(CONFIG_DRM_AMDGPU) += amdgpu.o\n",
		"drivers/gpu/drm/amd/display/Makefile":         "AMDDALPATH = $(RELATIVE_AMD_DISPLAY_PATH)\nDAL_LIBS = dc/bios\nAMD_DAL = $(addsuffix /Makefile, $(addprefix $(FULL_AMD_DISPLAY_PATH)/,$(DAL_LIBS)))\ninclude $(AMD_DAL)\n",
		"drivers/gpu/drm/amd/display/dc/bios/Makefile": "BIOS = bios_parser.o\nAMD_DAL_BIOS = $(addprefix $(AMDDALPATH)/dc/bios/,$(BIOS))\nAMD_DISPLAY_FILES += $(AMD_DAL_BIOS)\n",
	}
	for _, tt := range []struct{ config, want, target string }{
		{"CONFIG_DRM=y\nCONFIG_DRM_AMDGPU=m\nCONFIG_DRM_AMD_DC=y\n", "amdgpu drivers/gpu/drm/amd/amdgpu/amdgpu", "drivers/gpu/drm/amd/amdgpu/../display/dc/bios/bios_parser.o"},
		{"CONFIG_DRM=y\nCONFIG_DRM_AMDGPU=m\n", "not built", ""},
	} {
		got, o := objectIn(t, fs, tt.config, "drivers/gpu/drm/amd/display/dc/bios/bios_parser.c")
		if got != tt.want || o.Target != tt.target {
			t.Errorf("%q: got %s, target %q (%s); want %s, target %q", tt.config, got, o.Target, o.Why, tt.want, tt.target)
		}
	}
}

// objectIn evaluates the Makefiles of fs under config for file: the
// object's short name (with its path for a module), and the object.
func objectIn(t *testing.T, fs mapFS, config, file string) (string, Object) {
	t.Helper()
	cfg, err := ParseConfig([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	o := NewMakefiles(fs, cfg).ObjectOf(file)
	name := o.Name()
	if o.Kind == Module {
		name += " " + o.Path
	}
	return name, o
}

// mapFS is an in-memory tree.FS.
type mapFS map[string]string

func (m mapFS) ReadFile(rel string) ([]byte, error) {
	if d, ok := m[rel]; ok {
		return []byte(d), nil
	}
	return nil, os.ErrNotExist
}

func (m mapFS) Exists(rel string) bool { _, ok := m[rel]; return ok }

// TestHeaderUsersPrepared is a prepared tree without a complete build: the
// includers of a header are restricted to what the config builds, and a
// file that does not compile in the base tree is screened out: "not built
// here" when nothing says the config builds it, an error when it does.
func TestHeaderUsersPrepared(t *testing.T) {
	dir := "../testdata/kernels/prep"
	env, err := Open(dir, filepath.Join(dir, "config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hu, err := env.HeaderUsers("include/linux/gauge.h")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{"built": hu.Built, "unknown": hu.Unknown, "not built": hu.NotBuilt}
	want := map[string][]string{
		"built":     {"drivers/meter/sub/extra.c", "kernel/gauge.c"},
		"unknown":   {"drivers/odd/broken.c", "drivers/odd/fine.c"},
		"not built": {"drivers/oldmeter.c", "kernel/gauge_debug.c"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if !strings.Contains(hu.Method, "restricted to the files the Makefiles build") {
		t.Errorf("method %q", hu.Method)
	}
	s, err := env.Screen(hu.Candidates())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"drivers/meter/sub/extra.c", "drivers/odd/fine.c", "kernel/gauge.c"}, s.Files); diff != "" {
		t.Errorf("compiled (-want +got):\n%s", diff)
	}
	if len(s.Broken) != 0 || len(s.NotBuiltHere) != 1 || s.NotBuiltHere[0].File != "drivers/odd/broken.c" ||
		!strings.Contains(s.NotBuiltHere[0].Reason, "odd_private.h: No such file or directory") {
		t.Errorf("screened: broken %v, not built here %v", s.Broken, s.NotBuiltHere)
	}
	if err := s.BrokenError(env); err != nil {
		t.Errorf("BrokenError: %v", err)
	}
	if text := s.NotBuiltHereText(); !strings.Contains(text, "not built here") || !strings.Contains(text, "drivers/odd/broken.c") {
		t.Errorf("note %q", text)
	}

	// With CONFIG_GAUGE_DEBUG, kernel/gauge_debug.c is built, and it does
	// not compile: that is not "not built here" but an error that names it.
	env, err = Open(dir, filepath.Join(dir, "config-debug"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hu, err = env.HeaderUsers("include/linux/gauge.h")
	if err != nil {
		t.Fatal(err)
	}
	s, err = env.Screen(hu.Candidates())
	if err != nil {
		t.Fatal(err)
	}
	err = s.BrokenError(env)
	if err == nil || !strings.Contains(err.Error(), "kernel/gauge_debug.c, which the config builds into vmlinux, does not compile") ||
		!strings.Contains(err.Error(), "gauge_debug_level") {
		t.Errorf("BrokenError: %v", err)
	}

	// No compiler at all is an environment failure, never "not built here".
	t.Setenv("PATH", t.TempDir())
	env, err = Open(dir, filepath.Join(dir, "config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Screen([]string{"kernel/gauge.c"}); err == nil || IsNotCompilable(err) != nil {
		t.Errorf("no compiler: %v", err)
	}
}

func TestNotCompilableFromMake(t *testing.T) {
	for _, c := range []struct {
		out  string
		want string // "" for an environment failure
	}{
		{"  CC [M]  drivers/x/lag.o\n/src/drivers/x/lag.c:5:10: fatal error: lib/devcom.h: No such file or directory\ncompilation terminated.\n",
			"drivers/x/lag.c does not compile in the base tree: drivers/x/lag.c:5:10: lib/devcom.h: No such file or directory"},
		{"make[3]: *** No rule to make target 'drivers/x/lag.o'.  Stop.\n", "drivers/x/lag.c is not built under this config (kbuild has no rule for it)"},
		{"/bin/sh: 1: gcc: not found\nmake[3]: *** [scripts/Makefile.build:250: drivers/x/lag.o] Error 127\n", ""},
	} {
		nc := notCompilable("drivers/x/lag.c", &makeError{targets: []string{"drivers/x/lag.o"}, err: errors.New("exit status 2"), out: []byte(c.out)}, "/src")
		got := ""
		if nc != nil {
			got = nc.Error()
		}
		if got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.out, got, c.want)
		}
	}
}

// TestViaIncludePath: an include that only a Makefile's -I finds resolves
// to the headers whose path ends in the name: of the same subsystem for a
// quoted name when there are some there, of the whole tree otherwise.
func TestViaIncludePath(t *testing.T) {
	t.Parallel()
	cands := []string{"drivers/gpu/drm/amd/display/include/dm_services.h", "drivers/gpu/drm/amd/display/dc/dm_services.h", "drivers/net/other/dm_services.h"}
	got := viaIncludePath("drivers/gpu/drm/amd/display/dc/bios/bios_parser.c", "dm_services.h", true, cands)
	want := []string{"drivers/gpu/drm/amd/display/include/dm_services.h", "drivers/gpu/drm/amd/display/dc/dm_services.h"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("same subsystem (-want +got):\n%s", diff)
	}
	// em28xx's "m88ds3103.h" is under -I drivers/media/dvb-frontends
	got = viaIncludePath("drivers/media/usb/em28xx/em28xx-dvb.c", "m88ds3103.h", true,
		[]string{"drivers/media/dvb-frontends/m88ds3103.h"})
	if diff := cmp.Diff([]string{"drivers/media/dvb-frontends/m88ds3103.h"}, got); diff != "" {
		t.Errorf("another subsystem (-want +got):\n%s", diff)
	}
	// nouveau's <subdev/mmu.h> is under -I$(src)/include/nvkm; a header
	// whose name only ends the same (xsubdev/mmu.h) is not it
	got = viaIncludePath("drivers/gpu/drm/nouveau/nvkm/subdev/acr/base.c", "subdev/mmu.h", false,
		[]string{"drivers/gpu/drm/nouveau/include/nvkm/subdev/mmu.h", "drivers/x/xsubdev/mmu.h", "drivers/gpu/drm/nouveau/nvkm/subdev/mmu/mmu.h"})
	if diff := cmp.Diff([]string{"drivers/gpu/drm/nouveau/include/nvkm/subdev/mmu.h"}, got); diff != "" {
		t.Errorf("angle brackets (-want +got):\n%s", diff)
	}
	// kvm's mmu/mmu.c includes "trace.h" under -I arch/x86/kvm: the
	// parent of its subsystem has it, and nfsd's or batman-adv's trace.h
	// is not it (it made kvm a user of fs/nfsd/state.h)
	got = viaIncludePath("arch/x86/kvm/mmu/mmu.c", "trace.h", true,
		[]string{"arch/x86/kvm/trace.h", "fs/nfsd/trace.h", "net/batman-adv/trace.h"})
	if diff := cmp.Diff([]string{"arch/x86/kvm/trace.h"}, got); diff != "" {
		t.Errorf("the subsystem's parent (-want +got):\n%s", diff)
	}
}

// TestMakefilesSubstitution: net/ipv6/Makefile builds inet6_hashtables.o
// into vmlinux with CONFIG_IPV6=m through "obj-$(subst m,y,$(CONFIG_IPV6))",
// and netfilter lists objects with "$(CONFIG_X:m=y)". Reading such a line
// as no assignment called the file "not built", so a header change reached
// code kprewrite never looked at.
func TestMakefilesSubstitution(t *testing.T) {
	t.Parallel()
	fs := mapFS{
		"Kbuild":       "obj-y += net/\nKBUILD_CFLAGS-$(call gcc-min-version, 90100) += -Wno-alloc-size-larger-than\n",
		"net/Makefile": "obj-y += ipv6/\nobj-$(CONFIG_NETFILTER) += netfilter/\n",
		"net/ipv6/Makefile": "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o\n" +
			"obj-$(subst m,y,$(CONFIG_IPV6)) += inet6_hashtables.o\n$(obj)/rule.o: CFLAGS += -DX=1\n",
		"net/netfilter/Makefile": "nf_conntrack-y := nf_conntrack_core.o\nnf_conntrack-$(subst m,y,$(CONFIG_IPV6)) += nf_conntrack_proto_icmpv6.o\nnf_conntrack-$(CONFIG_FCOE:m=y) += fcoe.o\n" +
			"obj-$(CONFIG_NF_CONNTRACK) += nf_conntrack.o\nsrcs := a.c b.c\nobj-y += $(srcs:.c=.o) $(srcs:%.c=x%.o)\n",
	}
	for _, tt := range []struct{ config, file, want string }{
		{"CONFIG_IPV6=m\n", "net/ipv6/inet6_hashtables.c", "vmlinux"},
		{"CONFIG_IPV6=m\n", "net/ipv6/af_inet6.c", "ipv6 net/ipv6/ipv6"},
		{"CONFIG_IPV6=y\n", "net/ipv6/inet6_hashtables.c", "vmlinux"},
		{"CONFIG_IPV6=m\nCONFIG_NETFILTER=y\nCONFIG_NF_CONNTRACK=m\n", "net/netfilter/nf_conntrack_proto_icmpv6.c", "nf_conntrack net/netfilter/nf_conntrack"},
		{"CONFIG_NETFILTER=y\nCONFIG_NF_CONNTRACK=m\n", "net/netfilter/nf_conntrack_proto_icmpv6.c", "not built"},
		{"CONFIG_NETFILTER=y\nCONFIG_NF_CONNTRACK=m\nCONFIG_FCOE=m\n", "net/netfilter/fcoe.c", "nf_conntrack net/netfilter/nf_conntrack"},
		{"CONFIG_NETFILTER=y\n", "net/netfilter/b.c", "vmlinux"},
		{"CONFIG_NETFILTER=y\n", "net/netfilter/xa.c", "vmlinux"},
		// a flags variable the top Makefile names with a $(call) does not
		// make every list uncertain
		{"CONFIG_IPV6=y\n", "net/netfilter/b.c", "not built"},
	} {
		got, o := objectIn(t, fs, tt.config, tt.file)
		if got != tt.want {
			t.Errorf("%s with %q: got %s (%s), want %s", tt.file, tt.config, got, o.Why, tt.want)
		}
	}
}

func TestSplitAssign(t *testing.T) {
	t.Parallel()
	for line, want := range map[string][]string{
		"obj-y += a.o":                        {"obj-y", "+=", "a.o"},
		"obj-$(subst m,y,$(CONFIG_A)) += b.o": {"obj-$(subst m,y,$(CONFIG_A))", "+=", "b.o"},
		"x-$(CONFIG_A:m=y) := c.o":            {"x-$(CONFIG_A:m=y)", ":=", "c.o"},
		"CFLAGS_a.o := -DX=1":                 {"CFLAGS_a.o", ":=", "-DX=1"},
		"a ::= b":                             {"a", ":=", "b"},
		"b?=c":                                {"b", "?=", "c"},
		"$(obj)/a.o: CFLAGS += -x":            nil,
		"a.o: b.c":                            nil,
		"export FOO := 1":                     nil,
		"$(call cmd,foo)":                     nil,
	} {
		got := splitAssign(line)
		if got != nil {
			got = got[1:]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", line, diff)
		}
	}
}

// TestIncludedC: kernel/sched/build_policy.c #includes rt.c, which no
// Makefile lists. rt.c's code is in vmlinux, and the files that may use a
// header are the unit and the .c files it includes (rt.c names what it
// uses; build_policy.c does not). Calling rt.c "not built" dropped header
// changes its code uses.
func TestIncludedC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"Kbuild":                      "obj-y += kernel/\n",
		"kernel/Makefile":             "obj-y += sched/\n",
		"kernel/sched/Makefile":       "obj-y += core.o\nobj-y += build_policy.o\nobj-y += card_a.o\nobj-$(CONFIG_CARD_B) += card_b.o\nobj-y += card_c.o\n",
		"kernel/sched/card_a.c":       "#define CARD_A 1\n#include \"card_dsp.c\"\n",
		"kernel/sched/card_b.c":       "#include \"card_dsp.c\"\n#include \"card_only_b.c\"\n",
		"kernel/sched/card_c.c":       "#include \"card_dsp.c\"\n#include \"card_only_b.c\"\n",
		"kernel/sched/card_dsp.c":     "int dsp(void) { return rr(); }\n",
		"kernel/sched/card_only_b.c":  "int only_b(void) { return rr(); }\n",
		"kernel/sched/sched.h":        "static inline int rr(void) { return 1; }\n",
		"kernel/sched/core.c":         "#include \"sched.h\"\n",
		"kernel/sched/build_policy.c": "#include \"sched.h\"\n#include \"rt.c\"\n# include \"deadline.c\"\n",
		"kernel/sched/rt.c":           "int rt(void) { return rr(); }\n#include \"rt_helpers.c\"\n",
		"kernel/sched/rt_helpers.c":   "int rth(void) { return rr(); }\n",
		"kernel/sched/deadline.c":     "int dl(void) { return rr(); }\n",
		"kernel/sched/stray.c":        "int stray(void) { return rr(); }\n",
		"config":                      "CONFIG_64BIT=y\nCONFIG_X86_64=y\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, err := Open(dir, filepath.Join(dir, "config"), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range []string{"kernel/sched/rt.c", "kernel/sched/rt_helpers.c", "kernel/sched/deadline.c", "kernel/sched/stray.c", "kernel/sched/core.c", "kernel/sched/card_dsp.c", "kernel/sched/card_only_b.c"} {
		o := env.ObjectOf(f)
		got[f] = o.Name() + " " + o.IncludedIn
	}
	want := map[string]string{
		"kernel/sched/rt.c":         "vmlinux kernel/sched/build_policy.c",
		"kernel/sched/rt_helpers.c": "vmlinux kernel/sched/build_policy.c", // through rt.c
		"kernel/sched/deadline.c":   "vmlinux kernel/sched/build_policy.c",
		"kernel/sched/stray.c":      "not built ",
		"kernel/sched/core.c":       "vmlinux ",
		// in card_a.c and card_c.c, which the config builds (not card_b.c)
		"kernel/sched/card_dsp.c": "vmlinux kernel/sched/card_a.c",
		// in card_b.c, not built, and card_c.c
		"kernel/sched/card_only_b.c": "vmlinux kernel/sched/card_c.c",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	hu, err := env.HeaderUsers("kernel/sched/sched.h")
	if err != nil {
		t.Fatal(err)
	}
	wantBuilt := []string{"kernel/sched/build_policy.c", "kernel/sched/core.c", "kernel/sched/deadline.c", "kernel/sched/rt.c", "kernel/sched/rt_helpers.c"}
	if diff := cmp.Diff(wantBuilt, hu.Built); diff != "" {
		t.Errorf("built users (-want +got):\n%s", diff)
	}
	// the compiler is given the unit: kernel/sched/rt_helpers.c through
	// rt.c, whose unit is build_policy.c
	units := map[string]string{}
	for _, f := range []string{"kernel/sched/rt.c", "kernel/sched/rt_helpers.c", "kernel/sched/core.c", "kernel/sched/sched.h"} {
		units[f] = env.Unit(f)
	}
	wantUnits := map[string]string{
		"kernel/sched/rt.c":         "kernel/sched/build_policy.c",
		"kernel/sched/rt_helpers.c": "kernel/sched/build_policy.c",
		"kernel/sched/core.c":       "kernel/sched/core.c",
		"kernel/sched/sched.h":      "kernel/sched/sched.h",
	}
	if diff := cmp.Diff(wantUnits, units); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	// the order gcc reads them in: rt.c, rt_helpers.c (inside rt.c), deadline.c
	files := []string{"kernel/sched/deadline.c", "kernel/sched/rt_helpers.c", "kernel/sched/rt.c"}
	slices.SortFunc(files, func(a, b string) int { return slices.Compare(env.UnitPosition(a), env.UnitPosition(b)) })
	if diff := cmp.Diff([]string{"kernel/sched/rt.c", "kernel/sched/rt_helpers.c", "kernel/sched/deadline.c"}, files); diff != "" {
		t.Errorf("unit order (-want +got):\n%s", diff)
	}
	if pos := env.UnitPosition("kernel/sched/core.c"); pos != nil {
		t.Errorf("UnitPosition(core.c) = %v, want nil", pos)
	}
	if got := env.ObjectOf("kernel/sched/card_dsp.c").AlsoIn; !slices.Equal(got, []string{"kernel/sched/card_c.c"}) {
		t.Errorf("card_dsp.c is also in %q, want card_c.c", got)
	}
	// the compiler's answer about one unit is none about the others
	sc, err := env.Screen([]string{"kernel/sched/card_dsp.c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.BrokenError(env); err == nil || !strings.Contains(err.Error(), "compiled as part of kernel/sched/card_a.c, kernel/sched/card_c.c") {
		t.Errorf("BrokenError for a file two units include: %v", err)
	}
}
