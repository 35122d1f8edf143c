/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGFEAT_H
#define _LINUX_RINGFEAT_H

#include <linux/types.h>

#define RINGFEAT_NAMES(FN)	FN(batch) FN(crc)

struct ringfeat {
	u32 features;
};

#define RING_FEATURE_FUNCS(name, bit)					\
static inline bool ring_has_feature_##name(const struct ringfeat *f)	\
{									\
	return f->features & (1U << (bit));				\
}

RING_FEATURE_FUNCS(batch, 0)
RING_FEATURE_FUNCS(crc, 1)

#define RINGFEAT_ON	1
#define RINGFEAT_OFF	2

#endif /* _LINUX_RINGFEAT_H */
