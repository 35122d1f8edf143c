// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringmode.h>

bool ring_ops_complete(const struct ring_ops *ops)
{
	return ops->set_mode && ops->event;
}
