// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringmode.h>

static int ring_mode = RING_MODE_DEFAULT;
static int ring_events;

int ring_mode_set(int mode)
{
	if (mode < RING_MODE_OFF || mode > RING_MODE_IRQ)
		return -EINVAL;
	ring_mode = mode;
	pr_info("ring: mode %d\n", ring_mode);
	return 0;
}

int ring_mode_count(void)
{
	return RING_MODE_MAX;
}

void ring_event(int ev)
{
	if (ev == RING_EV_FILL || ev == RING_EV_DRAIN)
		ring_events++;
}

static int ring_set_mode_op(int mode)
{
	return ring_mode_set(mode);
}

static const struct ring_ops ring_default_ops = {
	.set_mode	= ring_set_mode_op,
	.event		= ring_event,
};

int ring_apply(const struct ring_ops *ops, int mode)
{
	if (!ops)
		ops = &ring_default_ops;
	if (ops->set_mode)
		return ops->set_mode(mode);
	return 0;
}

static void ring_mode_reset(void)
{
	ring_mode = RING_MODE_DEFAULT;
}

int ring_mode_restore(void)
{
	ring_mode_reset();
	return ring_mode;
}
