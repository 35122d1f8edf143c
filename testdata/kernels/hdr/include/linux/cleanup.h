/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CLEANUP_H
#define _LINUX_CLEANUP_H

/* The kernel's scope-based cleanup generator, reduced to DEFINE_FREE. */
#define DEFINE_FREE(_name, _type, _free) \
	static inline void __free_##_name(void *p) { _type _T = *(_type *)p; _free; }
#define __free(_name)	__attribute__((__cleanup__(__free_##_name)))

#endif
