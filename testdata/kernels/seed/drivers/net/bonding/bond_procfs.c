// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <net/bonding.h>

void bond_info_show_slave(const struct slave *slave)
{
	pr_info("Slave Interface: %s\n", slave->dev->name);
	pr_info("MII Status: %s\n", slave->link == BOND_LINK_UP ? "up" : "down");
	pr_info("Link Failure Count: %u\n", slave->link_failure_count);
}
