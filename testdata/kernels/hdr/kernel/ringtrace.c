// SPDX-License-Identifier: GPL-2.0
/*
 * Ring tracing (miniature): a notrace user of a header macro, which no
 * livepatch can replace.
 */

#include <linux/kernel.h>
#include <linux/ringtrace.h>

notrace u32 ring_trace_head(u32 head)
{
	return head & RING_TRACE_MASK;
}

u32 ring_trace_depths[] = { RING_TRACE_DEPTH, 2 * RING_TRACE_DEPTH };

u32 ring_trace_width(void)
{
	return RING_TRACE_WIDTH;
}
