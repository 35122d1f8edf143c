// SPDX-License-Identifier: GPL-2.0
/*
 * Ring bookkeeping (miniature, for kprewrite's header2c cases).
 */

#include <linux/kernel.h>
#include <linux/ring.h>

void ring_init(struct ring *r, u32 size)
{
	r->head = 0;
	r->tail = 0;
	r->size = size;
}

bool ring_push(struct ring *r)
{
	if (ring_full(r))
		return false;
	r->head++;
	return true;
}

u32 ring_room(const struct ring *r)
{
	return RING_SPACE(r);
}

notrace u32 ring_tail(const struct ring *r)
{
	return r->tail;
}
