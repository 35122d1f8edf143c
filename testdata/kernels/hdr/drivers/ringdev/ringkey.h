/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _RINGKEY_H
#define _RINGKEY_H

#include <linux/jump_label.h>

DECLARE_STATIC_KEY_FALSE(ring_key_hot);

static inline int ring_key_hot_scale(int v)
{
	if (static_branch_unlikely(&ring_key_hot))
		return v * 4;
	return v;
}

/* ring_key_hot_scale() twice over: no site of its own */
static inline int ring_key_hot_double(int v)
{
	return ring_key_hot_scale(v) * 2;
}

#endif
