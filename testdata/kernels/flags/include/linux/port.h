/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_PORT_H
#define _LINUX_PORT_H

#include <linux/types.h>

struct port {
	struct list_head list;
	int id;
	u8 up:1,		/* link is up */
	   admin:1,		/* administratively enabled */
	   carrier:1;		/* carrier seen */
	u8 speed;
	u8 f0:1, f1:1, f2:1, f3:1, f4:1, f5:1, f6:1, f7:1;	/* a full unit */
	u8 duplex;
	u32 qlen:10,		/* queue length */
	    prio:3;		/* priority */
	u32 mtu;
	s8 level:3;		/* signed level */
	u8 pad0;
#ifdef CONFIG_PORT_STATS
	u8 stats_on:1;		/* statistics collected */
#endif
	u8 dbg:1,		/* debug output */
	   trace:1;		/* tracing */
	unsigned long tx;
};

struct port *port_alloc(int id);
void port_free(struct port *p);

#endif /* _LINUX_PORT_H */
