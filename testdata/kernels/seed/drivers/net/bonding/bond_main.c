// SPDX-License-Identifier: GPL-1.0+
/*
 * originally based on the dummy device (miniature of bond_main.c).
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/netdevice.h>
#include <net/bonding.h>

static int max_bonds = 1;

void bond_queue_slave_event(struct slave *slave)
{
	pr_info("%s: queue slave event\n", slave->dev->name);
}

void bond_lower_state_changed(struct slave *slave)
{
	pr_info("%s: lower state changed to %d\n", slave->dev->name,
		slave->link);
}

static int bond_master_upper_dev_link(struct bonding *bond,
				      struct slave *slave)
{
	struct netdev_lag_upper_info lag_upper_info;

	lag_upper_info.tx_type = NETDEV_LAG_TX_TYPE_ACTIVEBACKUP;
	return netdev_master_upper_dev_link(slave->dev, bond->dev, slave,
					    &lag_upper_info);
}

static struct slave *bond_alloc_slave(struct bonding *bond,
				      struct net_device *slave_dev)
{
	struct slave *slave;

	slave = kzalloc(sizeof(*slave), GFP_KERNEL);
	if (!slave)
		return NULL;

	slave->bond = bond;
	slave->dev = slave_dev;
	return slave;
}

static void bond_free_slave(struct slave *slave)
{
	kfree(slave);
}

int bond_enslave(struct bonding *bond, struct net_device *slave_dev)
{
	struct slave *new_slave;
	int res;

	new_slave = bond_alloc_slave(bond, slave_dev);
	if (!new_slave)
		return -ENOMEM;

	new_slave->original_mtu = slave_dev->mtu;
	res = bond_master_upper_dev_link(bond, new_slave);
	if (res) {
		bond_free_slave(new_slave);
		return res;
	}

	list_add_tail(&new_slave->list, &bond->slave_list);
	bond->slave_cnt++;
	bond_set_slave_link_state(new_slave, BOND_LINK_UP,
				  BOND_SLAVE_NOTIFY_NOW);
	return 0;
}

static void bond_miimon_commit(struct bonding *bond)
{
	struct slave *slave;

	bond_for_each_slave(bond, slave) {
		switch (slave->link_new_state) {
		case BOND_LINK_UP:
			bond_set_slave_link_state(slave, BOND_LINK_UP,
						  BOND_SLAVE_NOTIFY_NOW);
			slave->link_failure_count = 0;
			break;
		case BOND_LINK_DOWN:
			if (slave->link_failure_count < 0xffff)
				slave->link_failure_count++;
			bond_set_slave_link_state(slave, BOND_LINK_DOWN,
						  BOND_SLAVE_NOTIFY_NOW);
			break;
		default:
			break;
		}
	}
}

static bool bond_ab_arp_probe(struct bonding *bond)
{
	bool should_notify_rtnl = BOND_SLAVE_NOTIFY_LATER;
	struct slave *slave;

	bond_for_each_slave(bond, slave) {
		if (slave->link != BOND_LINK_UP) {
			bond_set_slave_link_state(slave, BOND_LINK_BACK,
						  BOND_SLAVE_NOTIFY_LATER);
			slave->should_notify = 1;
		}
	}

	bond_for_each_slave(bond, slave) {
		if (slave->should_notify) {
			should_notify_rtnl = BOND_SLAVE_NOTIFY_NOW;
			break;
		}
	}
	return should_notify_rtnl;
}

static void bond_slave_state_notify(struct bonding *bond)
{
	struct slave *tmp;

	bond_for_each_slave(bond, tmp) {
		if (tmp->should_notify) {
			bond_lower_state_changed(tmp);
			tmp->should_notify = 0;
		}
	}
}

void bond_mii_monitor(struct bonding *bond)
{
	bond_miimon_commit(bond);
	if (bond_ab_arp_probe(bond))
		bond_slave_state_notify(bond);
}

static int __init bonding_init(void)
{
	pr_info("bonding: %d bonds\n", max_bonds);
	return 0;
}

module_init(bonding_init);
MODULE_LICENSE("GPL");
