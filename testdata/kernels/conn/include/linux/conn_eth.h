/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_ETH_H
#define _LINUX_CONN_ETH_H

#include <linux/types.h>
#include <linux/netdevice.h>

/* The private area of a conn ethernet device (alloc_etherdev). */
struct conn_eth_priv {
	struct net_device *dev;
	u32 rx_packets;
	u8 duplex;
	u32 tx_packets;
};

struct net_device *conn_eth_create(void);
void conn_eth_rx(struct net_device *dev);

#endif
