package build

import (
	"os"
	"path/filepath"
)

// Livepatch glue headers, used only when the tree does not have them: a
// kernel older than klp-build (6.19) has no linux/livepatch_helpers.h, and
// kpatch-macros.h comes with kpatch-build, not with the kernel. They let
// kprewrite compile generated callback code; the builder later uses its
// real headers.
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
#endif
`,
}

// stubDir writes the stub headers under dir and returns their directory.
func stubDir(dir string) string {
	d := filepath.Join(dir, "stubs")
	for name, text := range stubs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(text), 0o644)
	}
	return d
}
