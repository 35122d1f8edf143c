// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringpeek.h>

int ring_peek_data(struct ring_peek_sub *sub, u32 *p)
{
	*p = sub ? sub->pos : 0;
	return 0;
}

int ring_peek_at(const struct ring_peek_ops *ops, struct ring_peek_stream *st, u32 *p)
{
	return ops->peek(st->sub, p);
}

void ring_peek_legacy_setup(struct ring_peek_legacy *l)
{
	l->read = ring_peek_data;
}

static int ring_peek_tick(const struct ring_peek_ops *ops, struct ring_peek_sub *sub)
{
	u32 p;

	return ops->peek(sub, &p);
}

void ring_peek_tick_setup(struct ring_peek_tick *t)
{
	t->fn = ring_peek_tick;
}
