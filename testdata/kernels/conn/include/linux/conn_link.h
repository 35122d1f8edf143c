/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_LINK_H
#define _LINUX_CONN_LINK_H

#include <linux/types.h>
#include <linux/peer.h>
#include <linux/netdevice.h>

/* A link to a peer: allocated zeroed, handed the peer at creation. */
struct conn_link {
	struct peer *peer;
	u32 flags;
	u32 mtu;
};

/* The device new links go through. */
extern struct net_device *conn_link_dev;

struct conn_link *conn_link_new(struct peer *p);
void conn_link_free(struct conn_link *l);

#endif
