/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGSTAT_H
#define _LINUX_RINGSTAT_H

#include <linux/types.h>

/* how many slots each ring's statistics keep */
#define RING_STAT_SLOTS	4

struct ring_stat {
	u32 slot[RING_STAT_SLOTS];
	u32 total;
};

void ring_stat_clear(struct ring_stat *s);

#endif /* _LINUX_RINGSTAT_H */
