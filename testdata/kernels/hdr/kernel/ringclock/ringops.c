// SPDX-License-Identifier: GPL-2.0
/*
 * Ring clock operations (miniature of a sched_class): an inline function
 * whose address an ops table stores, like set_next_task_rt() in
 * kernel/sched/rt.c. The kernel's inline is notrace: the copy the table
 * points to has no ftrace entry.
 */

#include <linux/kernel.h>
#include <linux/ringclock.h>

struct ring_clock_ops {
	bool (*idle)(const struct ring_clock *rc);
};

static inline bool ring_ops_idle(const struct ring_clock *rc)
{
	return ring_clock_idle(rc);
}

const struct ring_clock_ops ring_clock_default_ops = {
	.idle = ring_ops_idle,
};
