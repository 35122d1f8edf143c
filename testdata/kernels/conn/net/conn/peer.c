// SPDX-License-Identifier: GPL-2.0
/*
 * Peers (miniature of net/ipv4/inetpeer.c, for kprewrite's creation-value cases).
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/peer.h>

static struct kmem_cache *peer_cachep;
static struct peer *peers[16];

void __init peer_init(void)
{
	peer_cachep = kmem_cache_create("peer_cache", sizeof(struct peer), 0, 0, NULL);
}

static bool peer_match(const struct peer *p, const u32 *addr, u16 family)
{
	return p->family == family && p->addr[0] == addr[0] && p->addr[1] == addr[1] &&
	       p->addr[2] == addr[2] && p->addr[3] == addr[3];
}

struct peer *peer_get(const u32 *addr, u16 family)
{
	u32 slot = hash_32(addr[0], 4);
	struct peer *p = peers[slot];

	if (p && peer_match(p, addr, family)) {
		p->refcnt++;
		return p;
	}
	p = kmem_cache_alloc(peer_cachep, GFP_ATOMIC);
	if (!p)
		return NULL;
	p->addr[0] = addr[0];
	p->addr[1] = addr[1];
	p->addr[2] = addr[2];
	p->addr[3] = addr[3];
	p->family = family;
	p->refcnt = 1;
	peers[slot] = p;
	return p;
}

static void peer_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(peer_cachep, container_of(head, struct peer, rcu));
}

void peer_put(struct peer *p)
{
	if (--p->refcnt == 0)
		call_rcu(&p->rcu, peer_free_rcu);
}
