// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Copyright(c) 1999 - 2004 Intel Corporation. All rights reserved.
 * (miniature of bond_3ad.c)
 */

#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <net/bonding.h>

void bond_3ad_handle_link_change(struct slave *slave, char link)
{
	pr_info("%s: 3ad link change to %d\n", slave->dev->name, link);
	bond_set_slave_link_state(slave, link ? BOND_LINK_UP : BOND_LINK_DOWN,
				  BOND_SLAVE_NOTIFY_NOW);
}
