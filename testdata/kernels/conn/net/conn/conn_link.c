// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/conn_link.h>

struct net_device *conn_link_dev;

struct conn_link *conn_link_new(struct peer *p)
{
	struct conn_link *l;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return NULL;
	l->peer = p;
	l->mtu = 1500;
	return l;
}

void conn_link_free(struct conn_link *l)
{
	kfree(l);
}
