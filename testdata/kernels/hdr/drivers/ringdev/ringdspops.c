// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringdsp.h>

const struct ring_dsp_ops ring_dsp_default_ops = {
	.msg_data	= ring_dsp_msg_data,
};
