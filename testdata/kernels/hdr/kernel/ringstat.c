// SPDX-License-Identifier: GPL-2.0
/*
 * Ring statistics (miniature): a header macro sizes a member of the
 * header's struct and bounds a loop here.
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/ringstat.h>

void ring_stat_clear(struct ring_stat *s)
{
	s->total = 0;
}
EXPORT_SYMBOL(ring_stat_clear);

void ring_stat_start(struct ring_stat *s)
{
	ring_stat_clear(s);
}

void ring_stat_restart(struct ring_stat *s)
{
	ring_stat_clear(s);
}

u32 ring_stat_sum(struct ring_stat *s)
{
	u32 sum = 0;
	int i;

	for (i = 0; i < RING_STAT_SLOTS; i++)
		sum += s->slot[i];
	return sum;
}
