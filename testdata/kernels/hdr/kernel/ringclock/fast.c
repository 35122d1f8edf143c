// SPDX-License-Identifier: GPL-2.0
/*
 * The fast ring clock: compiled only as part of build_clock.c.
 */

u64 ring_clock_budget(struct ring_clock *rc)
{
	return rc->runtime < 1000 ? 1000 - rc->runtime : 0;
}

void ring_fast_tick(struct ring_clock *rc, u64 now)
{
	rc->ticks++;
	ring_clock_charge(rc, now, now - rc->start);
}

struct ring_clock *ring_clock_new(void)
{
	return kzalloc(sizeof(struct ring_clock), GFP_KERNEL);
}

u64 ring_clock_slack(struct ring_clock *rc)
{
	return rc->start - rc->runtime;
}
