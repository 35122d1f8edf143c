/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGTRACE_H
#define _LINUX_RINGTRACE_H

#include <linux/types.h>

/* the bits of the head index a trace record keeps */
#define RING_TRACE_MASK	0xff

/* how many records each trace level keeps */
#define RING_TRACE_DEPTH	4

#endif /* _LINUX_RINGTRACE_H */
