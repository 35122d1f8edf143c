// SPDX-License-Identifier: GPL-2.0
/*
 * The slow ring clock: compiled only as part of build_clock.c, after
 * fast.c.
 */

void ring_slow_tick(struct ring_clock *rc, u64 now)
{
	if (!ring_clock_budget(rc))
		return;
	rc->ticks++;
	ring_clock_charge(rc, now, (now - rc->start) / 2);
}

u64 ring_slow_slack(struct ring_clock *rc)
{
	return ring_clock_slack(rc);
}
