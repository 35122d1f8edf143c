/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGSTREAM_H
#define _LINUX_RINGSTREAM_H

#include <linux/ringdsp.h>

struct ring_stream {
	struct ring_substream *substream;
	u32 offset;
};

#endif /* _LINUX_RINGSTREAM_H */
