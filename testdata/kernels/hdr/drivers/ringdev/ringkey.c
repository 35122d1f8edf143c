// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/jump_label.h>
#include "ringkey.h"

static DEFINE_STATIC_KEY_FALSE(ring_key_fast);
DEFINE_STATIC_KEY_FALSE(ring_key_hot);

int ring_key_poll(int budget)
{
	if (static_branch_unlikely(&ring_key_fast))
		return budget;
	return budget / 2;
}

int ring_key_weight(int weight)
{
	if (static_branch_maybe(CONFIG_RING_KEY_DEFAULT, &ring_key_fast))
		return weight;
	return 1;
}

void ring_key_enable(void)
{
	static_branch_inc(&ring_key_fast);
}

static int ring_key_scale(int v)
{
	if (static_branch_unlikely(&ring_key_fast))
		return v * 2;
	return v;
}

int ring_key_total(int v)
{
	return ring_key_scale(v) + 1;
}

DECLARE_STATIC_KEY_TRUE(ring_trace_on);

int ring_key_traced(int v)
{
	if (static_branch_likely(&ring_trace_on))
		return v;
	return 0;
}

int ring_key_sum(int v)
{
	return ring_key_hot_scale(v) + 1;
}

static int ring_key_clamp(int v)
{
	return v > 64 ? 64 : v;
}

int ring_key_burst(int v)
{
	if (static_branch_unlikely(&ring_key_fast))
		return ring_key_clamp(v) * 2;
	return ring_key_clamp(v) + 1;
}
