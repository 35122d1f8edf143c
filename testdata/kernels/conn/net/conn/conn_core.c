// SPDX-License-Identifier: GPL-2.0
/*
 * Connections (miniature, for kprewrite's hole and shadow cases).
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/conn.h>

struct conn *conn_create(u16 port)
{
	struct conn *c;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return NULL;
	c->port = port;
	INIT_LIST_HEAD(&c->list);
	return c;
}

void conn_destroy(struct conn *c)
{
	pr_info("conn %u: %llu bytes\n", c->port, c->bytes);
	kfree(c);
}

void conn_account(struct conn *c, u32 len)
{
	c->bytes += len;
}

void sess_snapshot(struct sess *dst, const struct sess *src)
{
	*dst = *src;
}

void sess_open(struct sess *s, u32 id)
{
	s->id = id;
	s->opened = 1;
}

struct sess *sess_new(u32 id)
{
	struct sess *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (s)
		s->id = id;
	return s;
}
