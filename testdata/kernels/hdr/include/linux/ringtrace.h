/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGTRACE_H
#define _LINUX_RINGTRACE_H

#include <linux/types.h>

/* the bits of the head index a trace record keeps */
#define RING_TRACE_MASK	0xff

/* how many records each trace level keeps */
#define RING_TRACE_DEPTH	4

/* how far a level's records are shifted */
#define RING_TRACE_SHIFT	4

/* how wide a trace record is */
#ifdef CONFIG_64BIT
#define RING_TRACE_WIDTH	64
#else
#define RING_TRACE_WIDTH	32
#endif

#endif /* _LINUX_RINGTRACE_H */
