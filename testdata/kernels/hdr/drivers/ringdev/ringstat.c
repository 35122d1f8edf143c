// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ring.h>

u32 ringstat_batch(u32 want)
{
	return RING_CLAMP(want);
}

void ringstat_show(const struct ring *r)
{
	pr_info("ring: size %u\n", r->size);
}
