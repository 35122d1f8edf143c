// SPDX-License-Identifier: GPL-2.0
/* The part of the network core kprewrite reads: private areas start zeroed. */
#include <linux/netdevice.h>

struct net_device *alloc_netdev_mqs(int sizeof_priv, const char *name,
				    unsigned char name_assign_type,
				    void (*setup)(struct net_device *),
				    unsigned int txqs, unsigned int rxqs)
{
	p = kvzalloc(alloc_size, GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	return dev;
}
