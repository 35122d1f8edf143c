/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RING_H
#define _LINUX_RING_H

#include <linux/types.h>

struct ring {
	u32 head;
	u32 tail;
	u32 size;
};

#define RING_LIMIT	64
#define RING_CLAMP(n)	((n) > RING_LIMIT ? RING_LIMIT : (n))

static inline u32 ring_used(const struct ring *r)
{
	return r->head - r->tail;
}

static inline bool ring_full(const struct ring *r)
{
	return ring_used(r) >= r->size;
}

#define RING_SPACE(r)	((r)->size - ring_used(r))
#define RING_EMPTY(r)	(RING_SPACE(r) == (r)->size)

void ring_init(struct ring *r, u32 size);

#endif /* _LINUX_RING_H */
