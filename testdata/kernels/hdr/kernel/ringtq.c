// SPDX-License-Identifier: GPL-2.0
/*
 * Ring trace queue (miniature): it uses linux/ringtrace.h's macros only
 * through an inline of linux/ringtq.h.
 */

#include <linux/kernel.h>
#include <linux/ringtq.h>

u32 ring_tq_pick(u32 head)
{
	return ring_tq_slot(head) + 1;
}
