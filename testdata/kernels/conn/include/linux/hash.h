/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_HASH_H
#define _LINUX_HASH_H

#include <linux/types.h>

#define GOLDEN_RATIO_64 0x61C8864680B583EBull

static inline u32 hash_64(u64 val, unsigned int bits)
{
	return val * GOLDEN_RATIO_64 >> (64 - bits);
}

static inline u32 hash_32(u32 val, unsigned int bits)
{
	return val * 0x61C88647 >> (32 - bits);
}

static inline u32 jhash2(const u32 *k, u32 length, u32 initval)
{
	u32 h = initval;

	while (length--)
		h = hash_32(h ^ *k++, 32);
	return h;
}

static inline u32 hash_ptr(const void *ptr, unsigned int bits)
{
	return hash_64((unsigned long)ptr, bits);
}

#endif
