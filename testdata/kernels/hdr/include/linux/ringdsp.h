/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGDSP_H
#define _LINUX_RINGDSP_H

#include <linux/types.h>

struct ring_dsp;

struct ring_substream {
	u32 pos;
};

struct ring_dsp_ops {
	int (*msg_data)(struct ring_dsp *dsp,
			struct ring_substream *substream,
			u32 *p);
};

struct ring_dsp {
	const struct ring_dsp_ops *ops;
};

extern const struct ring_dsp_ops ring_dsp_default_ops;

int ring_dsp_msg_data(struct ring_dsp *dsp,
		      struct ring_substream *substream,
		      u32 *p);

static inline int ring_dsp_read(struct ring_dsp *dsp,
				struct ring_substream *substream,
				u32 *p)
{
	return dsp->ops->msg_data(dsp, substream, p);
}

#endif /* _LINUX_RINGDSP_H */
