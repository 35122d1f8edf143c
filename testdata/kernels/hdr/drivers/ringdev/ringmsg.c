// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringmsg.h>

static struct ring_rec ring_rec;

int ring_msg_count(const void *buf, size_t size)
{
	const struct ring_msg *m = buf;
	const struct ring_msg *end = buf + size;
	int n = 0;

	do {
		n++;
		m = (const struct ring_msg *)((const u8 *)&m->body + m->len);
	} while (m < end);
	ring_rec.seen += n;
	ring_rec.last = n;
	return n;
}

u32 ring_rec_seen(void)
{
	return ring_rec.seen;
}
