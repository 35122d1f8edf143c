package build

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/kprewrite/kprewrite/internal/fsutil"
)

// syscallStub defines KPREWRITE_SYSCALL_DEFINEx(x, name, inner, ...): the
// x86_64 entry points of SYSCALL_DEFINEx (asm/syscall_wrapper.h) around a
// renamed inner function, without syscall metadata and error injection, as
// the builders' own macros do. (Miniature trees have no syscalls.h.)
const syscallStub = `#if __has_include(<linux/syscalls.h>)
#include <linux/syscalls.h>
#endif
#define KPREWRITE_SYSCALL_DEFINEx(x, name, inner, ...) \
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__)); \
	static inline long inner(__MAP(x, __SC_DECL, __VA_ARGS__)); \
	__X64_SYS_STUBx(x, name, __VA_ARGS__) \
	__IA32_SYS_STUBx(x, name, __VA_ARGS__) \
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__)) \
	{ \
		long ret = inner(__MAP(x, __SC_CAST, __VA_ARGS__)); \
		__MAP(x, __SC_TEST, __VA_ARGS__); \
		__PROTECT(x, ret, __MAP(x, __SC_ARGS, __VA_ARGS__)); \
		return ret; \
	} \
	static inline long inner(__MAP(x, __SC_DECL, __VA_ARGS__))
`

// kprewrite's bundled copies of the livepatch glue headers. The rewriter's
// own compiles (Glue.Dialect "") see them after the tree's headers, so it
// can compile generated callback and syscall code on any tree. verify uses
// what the chosen builder provides instead (see Glue): the kpatch copies
// only when kpatch's source is not found, and never the klp one.
var stubs = map[string]string{
	"linux/livepatch_helpers.h": `/* kprewrite stub: used only when the tree has no livepatch_helpers.h */
#ifndef _KPREWRITE_STUB_LIVEPATCH_HELPERS_H
#define _KPREWRITE_STUB_LIVEPATCH_HELPERS_H
#include <linux/livepatch.h>
#define KLP_PRE_PATCH_CALLBACK(func) \
	static int (*__kprewrite_pre_patch)(struct klp_object *) __attribute__((__used__)) = func
#define KLP_POST_PATCH_CALLBACK(func) \
	static void (*__kprewrite_post_patch)(struct klp_object *) __attribute__((__used__)) = func
#define KLP_PRE_UNPATCH_CALLBACK(func) \
	static void (*__kprewrite_pre_unpatch)(struct klp_object *) __attribute__((__used__)) = func
#define KLP_POST_UNPATCH_CALLBACK(func) \
	static void (*__kprewrite_post_unpatch)(struct klp_object *) __attribute__((__used__)) = func
` + syscallStub + `#ifdef CONFIG_X86_64
#define KLP_SYSCALL_DEFINE1(name, ...) KLP_SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE2(name, ...) KLP_SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE3(name, ...) KLP_SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE4(name, ...) KLP_SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE5(name, ...) KLP_SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE6(name, ...) KLP_SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINEx(x, name, ...) \
	KPREWRITE_SYSCALL_DEFINEx(x, name, __klp_do_sys##name, __VA_ARGS__)
#endif
#endif
`,
	"kpatch-macros.h": `/* kprewrite stub: kpatch-build provides the real kpatch-macros.h */
#ifndef _KPREWRITE_STUB_KPATCH_MACROS_H
#define _KPREWRITE_STUB_KPATCH_MACROS_H
#include <linux/livepatch.h>
#define KPATCH_PRE_PATCH_CALLBACK(fn) \
	static int (*__kprewrite_pre_patch)(struct klp_object *) __attribute__((__used__)) = fn
#define KPATCH_POST_PATCH_CALLBACK(fn) \
	static void (*__kprewrite_post_patch)(struct klp_object *) __attribute__((__used__)) = fn
#define KPATCH_PRE_UNPATCH_CALLBACK(fn) \
	static void (*__kprewrite_pre_unpatch)(struct klp_object *) __attribute__((__used__)) = fn
#define KPATCH_POST_UNPATCH_CALLBACK(fn) \
	static void (*__kprewrite_post_unpatch)(struct klp_object *) __attribute__((__used__)) = fn
#define KPATCH_STATIC_CALL(name) \
	((typeof(STATIC_CALL_TRAMP(name))*)(STATIC_CALL_KEY(name).func))
#endif
`,
	"kpatch-syscall.h": `/* kprewrite stub: kpatch-build provides the real kpatch-syscall.h */
#ifndef _KPREWRITE_STUB_KPATCH_SYSCALL_H
#define _KPREWRITE_STUB_KPATCH_SYSCALL_H
#include "kpatch-macros.h"
` + syscallStub + `
#ifdef CONFIG_X86_64
#define KPATCH_SYSCALL_DEFINE1(name, ...) KPATCH_SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE2(name, ...) KPATCH_SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE3(name, ...) KPATCH_SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE4(name, ...) KPATCH_SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE5(name, ...) KPATCH_SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE6(name, ...) KPATCH_SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINEx(x, name, ...) \
	KPREWRITE_SYSCALL_DEFINEx(x, name, __kpatch_do_sys##name, __VA_ARGS__)
#endif
#endif
`,
}

// Glue chooses the livepatch glue headers a compile sees.
type Glue struct {
	// Dialect is "klp" (only the tree's own livepatch_helpers.h, as
	// klp-build compiles: a tree without it cannot compile klp glue),
	// "kpatch" (kpatch's headers, from KpatchDir or the bundled copies),
	// or "" (the bundled copies of both: the rewriter's own compiles).
	Dialect string
	// KpatchDir holds kpatch's real kmod/patch headers ("" for the
	// bundled copies).
	KpatchDir string
}

// glueArgs returns the compiler flags that put the glue headers on the
// include path.
func (c *Compiler) glueArgs() []string {
	switch c.Glue.Dialect {
	case "klp":
		return nil
	case "kpatch":
		if c.Glue.KpatchDir != "" {
			return []string{"-I", c.Glue.KpatchDir} // as kpatch-build does
		}
		return []string{"-idirafter", stubDir(c.Dir, "kpatch-macros.h", "kpatch-syscall.h")}
	}
	return []string{"-idirafter", stubDir(c.Dir)}
}

// stubDir writes the stub headers (all, or those named) under dir and
// returns their directory.
func stubDir(dir string, only ...string) string {
	d := filepath.Join(dir, "stubs")
	if len(only) > 0 {
		d = filepath.Join(dir, "stubs-kpatch")
	}
	for name, text := range stubs {
		if len(only) > 0 && !slices.Contains(only, name) {
			continue
		}
		p := filepath.Join(d, name)
		if old, err := os.ReadFile(p); err == nil && string(old) == text {
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		fsutil.WriteFileAtomic(p, []byte(text), 0o644) // concurrent builds may read it
	}
	return d
}
