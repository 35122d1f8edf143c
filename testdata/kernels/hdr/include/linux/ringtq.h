/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGTQ_H
#define _LINUX_RINGTQ_H

#include <linux/ringtrace.h>

/* the trace queue slot of a head index */
static inline u32 ring_tq_slot(u32 head)
{
	return (head >> RING_TRACE_SHIFT) & RING_TRACE_MASK;
}

#endif /* _LINUX_RINGTQ_H */
