// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringflags.h>

int ring_flags_ready(const struct ring_flags *f)
{
	return ring_ready(f);
}

void ring_flags_start(struct ring_flags *f)
{
	ring_set_ready(f);
}
