/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGFLAGS_H
#define _LINUX_RINGFLAGS_H

#include <linux/types.h>

struct ring_flags {
	unsigned long bits;
};

#define __ring_flag_accessors(name, bit) \
static inline bool ring_##name(const struct ring_flags *f) \
{ \
	return f->bits & (1UL << (bit)); \
} \
static inline void ring_set_##name(struct ring_flags *f) \
{ \
	f->bits |= 1UL << (bit); \
}

__ring_flag_accessors(ready, 0);

#undef __ring_flag_accessors

#endif /* _LINUX_RINGFLAGS_H */
