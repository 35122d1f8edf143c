// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringpeek.h>

const struct ring_peek_ops ring_peek_default_ops = {
	.peek	= ring_peek_data,
};
