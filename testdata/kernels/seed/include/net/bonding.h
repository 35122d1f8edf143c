/* SPDX-License-Identifier: GPL-1.0+ */
/*
 * Bond several ethernet interfaces into a Cisco, running 'Etherchannel'.
 * (miniature of include/net/bonding.h)
 */

#ifndef _NET_BONDING_H
#define _NET_BONDING_H

#include <linux/netdevice.h>
#include <linux/list.h>

#define BOND_MAX_ARP_TARGETS	16

#define BOND_LINK_UP	0	/* link is up and running */
#define BOND_LINK_FAIL	1	/* link has just gone down */
#define BOND_LINK_DOWN	2	/* link has been down for too long time */
#define BOND_LINK_BACK	3	/* link is going back */

#define BOND_SLAVE_NOTIFY_NOW	true
#define BOND_SLAVE_NOTIFY_LATER	false

/* Link pseudo-state only used internally by monitors */
#define BOND_LINK_NOCHANGE	-1

struct bonding;

struct slave {
	struct net_device *dev; /* first - useful for panic debug */
	struct bonding *bond; /* our master */
	int    delay;
	/* all 4 in jiffies */
	unsigned long last_link_up;
	unsigned long last_tx;
	unsigned long last_rx;
	unsigned long target_last_arp_rx[BOND_MAX_ARP_TARGETS];
	s8     link;		/* one of BOND_LINK_XXXX */
	s8     link_new_state;	/* one of BOND_LINK_XXXX */
	u8     backup:1,   /* indicates backup slave. Value corresponds with
			      BOND_STATE_ACTIVE and BOND_STATE_BACKUP */
	       inactive:1, /* indicates inactive slave */
	       should_notify:1; /* indicates whether the state changed */
	u8     duplex;
	u32    original_mtu;
	u32    link_failure_count;
	u32    speed;
	u16    queue_id;
	u8     perm_hwaddr[MAX_ADDR_LEN];
#ifdef CONFIG_NET_POLL_CONTROLLER
	struct netpoll *np;
#endif
	struct list_head list;
};

struct bonding {
	struct net_device *dev; /* first - useful for panic debug */
	struct slave *curr_active_slave;
	struct list_head slave_list;
	int slave_cnt;
	unsigned int miimon;
};

#define bond_for_each_slave(bond, pos) \
	list_for_each_entry(pos, &(bond)->slave_list, list)

void bond_queue_slave_event(struct slave *slave);
void bond_lower_state_changed(struct slave *slave);

static inline void bond_propose_link_state(struct slave *slave, int state)
{
	slave->link_new_state = state;
}

static inline void bond_commit_link_state(struct slave *slave, bool notify)
{
	if (slave->link_new_state == BOND_LINK_NOCHANGE)
		return;

	slave->link = slave->link_new_state;
	if (notify) {
		bond_queue_slave_event(slave);
		bond_lower_state_changed(slave);
	}
}

static inline void bond_set_slave_link_state(struct slave *slave, int state,
					     bool notify)
{
	bond_propose_link_state(slave, state);
	bond_commit_link_state(slave, notify);
}

static inline bool bond_is_active_slave(struct slave *slave)
{
	return !slave->backup;
}

#endif /* _NET_BONDING_H */
