// SPDX-License-Identifier: GPL-2.0
/*
 * lagmon: follows LAG upper devices through CHANGEUPPER notifications, the
 * way switch drivers do (miniature of mlx5/lag and friends).
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netdevice.h>

static void lagmon_track(struct net_device *dev, struct net_device *upper,
			 bool linking)
{
	pr_info("%s: %s %s\n", dev->name, linking ? "joins" : "leaves",
		upper->name);
}

static int lagmon_netdev_event(struct notifier_block *nb,
			       unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct netdev_notifier_changeupper_info *info;

	switch (event) {
	case NETDEV_CHANGEUPPER:
		info = ptr;
		if (!info->master)
			break;
		lagmon_track(dev, info->upper_dev, info->linking);
		break;
	default:
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block lagmon_nb = {
	.notifier_call = lagmon_netdev_event,
};

static int __init lagmon_init(void)
{
	return register_netdevice_notifier(&lagmon_nb);
}

module_init(lagmon_init);
MODULE_LICENSE("GPL");
