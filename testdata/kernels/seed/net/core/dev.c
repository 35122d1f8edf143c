// SPDX-License-Identifier: GPL-2.0-or-later
/*
 *	NET3	Protocol independent device support routines (miniature).
 */

#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/notifier.h>

static struct notifier_block *netdev_chain;

int register_netdevice_notifier(struct notifier_block *nb)
{
	return notifier_chain_register(&netdev_chain, nb);
}

/**
 *	call_netdevice_notifiers_info - call all network notifier blocks
 *	@val: value passed unmodified to notifier function
 *	@info: notifier information data
 */
int call_netdevice_notifiers_info(unsigned long val,
				  struct netdev_notifier_info *info)
{
	return notifier_call_chain(&netdev_chain, val, info);
}

static int __netdev_adjacent_dev_link(struct net_device *dev,
				      struct net_device *upper_dev,
				      void *upper_priv)
{
	dev->master = upper_dev;
	dev->upper_priv = upper_priv;
	return 0;
}

static int __netdev_upper_dev_link(struct net_device *dev,
				   struct net_device *upper_dev, bool master,
				   void *upper_priv, void *upper_info)
{
	struct netdev_notifier_changeupper_info changeupper_info = {
		.info = {
			.dev = dev,
		},
		.upper_dev = upper_dev,
		.master = master,
		.linking = true,
	};
	int ret;

	if (dev == upper_dev)
		return -EBUSY;

	ret = call_netdevice_notifiers_info(NETDEV_PRECHANGEUPPER,
					    &changeupper_info.info);
	ret = notifier_to_errno(ret);
	if (ret)
		return ret;

	ret = __netdev_adjacent_dev_link(dev, upper_dev, upper_priv);
	if (ret)
		return ret;

	ret = call_netdevice_notifiers_info(NETDEV_CHANGEUPPER,
					    &changeupper_info.info);
	return notifier_to_errno(ret);
}

int netdev_master_upper_dev_link(struct net_device *dev,
				 struct net_device *upper_dev,
				 void *upper_priv, void *upper_info)
{
	return __netdev_upper_dev_link(dev, upper_dev, true,
				       upper_priv, upper_info);
}

void netdev_upper_dev_unlink(struct net_device *dev,
			     struct net_device *upper_dev)
{
	struct netdev_notifier_changeupper_info changeupper_info = {
		.info = {
			.dev = dev,
		},
		.upper_dev = upper_dev,
		.linking = false,
	};

	changeupper_info.master = dev->master == upper_dev;

	call_netdevice_notifiers_info(NETDEV_PRECHANGEUPPER,
				      &changeupper_info.info);
	dev->master = NULL;
	dev->upper_priv = NULL;
	call_netdevice_notifiers_info(NETDEV_CHANGEUPPER,
				      &changeupper_info.info);
}
