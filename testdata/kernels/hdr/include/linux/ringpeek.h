/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGPEEK_H
#define _LINUX_RINGPEEK_H

#include <linux/types.h>

struct ring_peek_sub {
	u32 pos;
};

struct ring_peek_stream {
	struct ring_peek_sub *sub;
	u32 offset;
};

struct ring_peek_ops {
	int (*peek)(struct ring_peek_sub *sub, u32 *p);
};

struct ring_peek_legacy {
	int (*read)(struct ring_peek_sub *sub, u32 *p);
};

struct ring_peek_tick {
	int (*fn)(const struct ring_peek_ops *ops, struct ring_peek_sub *sub);
};

int ring_peek_data(struct ring_peek_sub *sub, u32 *p);

#endif /* _LINUX_RINGPEEK_H */
