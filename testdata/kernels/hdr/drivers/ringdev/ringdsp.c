// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/ringstream.h>

int ring_dsp_msg_data(struct ring_dsp *dsp,
		      struct ring_substream *substream,
		      u32 *p)
{
	if (!substream) {
		*p = 0;
		return 0;
	}
	*p = substream->pos;
	return 0;
}
EXPORT_SYMBOL(ring_dsp_msg_data);

int ring_dsp_position(struct ring_dsp *dsp, struct ring_stream *st, u32 *pos)
{
	return ring_dsp_read(dsp, st->substream, pos);
}
