/* SPDX-License-Identifier: GPL-2.0 */
/*
 * livepatch_helpers.h (miniature): the macros a klp-build livepatch's
 * source uses, as Linux 6.19 and later provide them.
 */
#ifndef _LINUX_LIVEPATCH_HELPERS_H
#define _LINUX_LIVEPATCH_HELPERS_H

struct klp_object;

typedef int (*klp_pre_patch_t)(struct klp_object *obj);
typedef void (*klp_post_patch_t)(struct klp_object *obj);
typedef void (*klp_pre_unpatch_t)(struct klp_object *obj);
typedef void (*klp_post_unpatch_t)(struct klp_object *obj);

#define __KLP_CALLBACK(type, sec, func) \
	static type __klp_##sec##_callback \
	__attribute__((__used__, __section__(".discard.klp_" #sec "_callbacks"))) = func

#define KLP_PRE_PATCH_CALLBACK(func) __KLP_CALLBACK(klp_pre_patch_t, pre_patch, func)
#define KLP_POST_PATCH_CALLBACK(func) __KLP_CALLBACK(klp_post_patch_t, post_patch, func)
#define KLP_PRE_UNPATCH_CALLBACK(func) __KLP_CALLBACK(klp_pre_unpatch_t, pre_unpatch, func)
#define KLP_POST_UNPATCH_CALLBACK(func) __KLP_CALLBACK(klp_post_unpatch_t, post_unpatch, func)

#endif /* _LINUX_LIVEPATCH_HELPERS_H */
