// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/jump_label.h>

DEFINE_STATIC_KEY_TRUE(ring_trace_on);

int ring_trace_level(int level)
{
	if (static_branch_likely(&ring_trace_on))
		return level;
	return 0;
}
