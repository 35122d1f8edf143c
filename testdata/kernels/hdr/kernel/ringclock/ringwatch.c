// SPDX-License-Identifier: GPL-2.0
/*
 * Ring clock watchdog (miniature): an object of its own that reaches
 * ring_clock_budget() only through linux/ringclock.h's inline.
 */

#include <linux/kernel.h>
#include <linux/ringclock.h>

bool ring_watch_ok(struct ring_clock *rc)
{
	return ring_clock_may_run(rc);
}

u64 ring_watch_runtime(const struct ring_clock *rc)
{
	return ring_clock_scaled(rc);
}
