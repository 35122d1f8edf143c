/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_PEER_H
#define _LINUX_PEER_H

#include <linux/types.h>
#include <linux/rcupdate.h>

/* A peer: allocated from its own kmem_cache, freed after an RCU grace period. */
struct peer {
	u32 addr[4];
	u16 family;
	u32 refcnt;
	struct rcu_head rcu;
};

struct peer *peer_get(const u32 *addr, u16 family);
void peer_put(struct peer *p);

#endif
