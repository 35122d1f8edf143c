/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Definitions for the Interfaces handler (miniature).
 */
#ifndef _LINUX_NETDEVICE_H
#define _LINUX_NETDEVICE_H

#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/notifier.h>

#define IFNAMSIZ	16
#define MAX_ADDR_LEN	32

struct net_device {
	char			name[IFNAMSIZ];
	unsigned int		flags;
	unsigned int		mtu;
	struct net_device	*master;
	void			*upper_priv;
	struct list_head	dev_list;
};

enum netdev_cmd {
	NETDEV_UP	= 1,
	NETDEV_DOWN,
	NETDEV_CHANGE,
	NETDEV_PRECHANGEUPPER,
	NETDEV_CHANGEUPPER,
};

struct netdev_notifier_info {
	struct net_device	*dev;
	void			*extack;
};

struct netdev_notifier_changeupper_info {
	struct netdev_notifier_info info; /* must be first */
	struct net_device *upper_dev; /* new upper dev */
	bool master; /* is upper dev master */
	bool linking; /* is the notification for link or unlink */
};

enum netdev_lag_tx_type {
	NETDEV_LAG_TX_TYPE_UNKNOWN,
	NETDEV_LAG_TX_TYPE_RANDOM,
	NETDEV_LAG_TX_TYPE_BROADCAST,
	NETDEV_LAG_TX_TYPE_ROUNDROBIN,
	NETDEV_LAG_TX_TYPE_ACTIVEBACKUP,
	NETDEV_LAG_TX_TYPE_HASH,
};

struct netdev_lag_upper_info {
	enum netdev_lag_tx_type tx_type;
};

static inline struct net_device *
netdev_notifier_info_to_dev(const struct netdev_notifier_info *info)
{
	return info->dev;
}

int register_netdevice_notifier(struct notifier_block *nb);
int call_netdevice_notifiers_info(unsigned long val,
				  struct netdev_notifier_info *info);
int netdev_master_upper_dev_link(struct net_device *dev,
				 struct net_device *upper_dev,
				 void *upper_priv, void *upper_info);
void netdev_upper_dev_unlink(struct net_device *dev,
			     struct net_device *upper_dev);

#endif	/* _LINUX_NETDEVICE_H */
