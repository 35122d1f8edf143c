/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGCLOCK_H
#define _LINUX_RINGCLOCK_H

#include <linux/types.h>

struct ring_clock {
	u64 runtime;
	u64 start;
	u32 ticks;
};

/* charge delta to a ring clock that ran since start */
static inline void ring_clock_charge(struct ring_clock *rc, u64 now, u64 delta)
{
	rc->runtime += delta;
	rc->start = now;
}

extern u64 ring_clock_budget(struct ring_clock *rc);

/* whether a ring clock has budget left to run */
static inline bool ring_clock_may_run(struct ring_clock *rc)
{
	return ring_clock_budget(rc) > 0;
}

/* whether a ring clock has not run at all */
static inline bool ring_clock_idle(const struct ring_clock *rc)
{
	return !rc->runtime;
}

/* the runtime as the statistics report it */
#ifdef CONFIG_RING_CLOCK_STATS
static inline u64 ring_clock_scaled(const struct ring_clock *rc)
{
	return rc->runtime >> 4;
}
#else
static inline u64 ring_clock_scaled(const struct ring_clock *rc)
{
	return rc->runtime;
}
#endif

extern u64 ring_clock_slack(struct ring_clock *rc);

#endif /* _LINUX_RINGCLOCK_H */
