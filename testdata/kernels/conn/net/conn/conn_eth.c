// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/conn_eth.h>

struct net_device *conn_eth_create(void)
{
	struct net_device *dev;
	struct conn_eth_priv *priv;

	dev = alloc_etherdev(sizeof(*priv));
	if (!dev)
		return NULL;
	priv = netdev_priv(dev);
	priv->dev = dev;
	priv->duplex = 1;
	return dev;
}

void conn_eth_rx(struct net_device *dev)
{
	struct conn_eth_priv *priv = netdev_priv(dev);

	priv->rx_packets++;
}
