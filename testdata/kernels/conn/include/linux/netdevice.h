/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_NETDEVICE_H
#define _LINUX_NETDEVICE_H

#include <linux/types.h>

struct net_device {
	char name[16];
	unsigned int mtu;
	int refcnt;
};

/* As the kernel's: both do nothing with NULL. */
static inline void dev_hold(struct net_device *dev)
{
	if (dev)
		dev->refcnt++;
}

static inline void dev_put(struct net_device *dev)
{
	if (dev)
		dev->refcnt--;
}

struct net_device *alloc_etherdev_mqs(int sizeof_priv, unsigned int txqs,
				      unsigned int rxqs);
#define alloc_etherdev(sizeof_priv) alloc_etherdev_mqs(sizeof_priv, 1, 1)
void free_netdev(struct net_device *dev);

static inline void *netdev_priv(const struct net_device *dev)
{
	return (char *)dev + sizeof(struct net_device);
}

#endif
