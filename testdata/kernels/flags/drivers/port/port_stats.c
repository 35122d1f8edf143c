// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/port.h>

void port_show(const struct port *p)
{
	pr_info("port %d: up %d admin %d carrier %d\n", p->id, p->up, p->admin,
		p->carrier);
	pr_info("port %d: level %d qlen %u\n", p->id, p->level, p->qlen);
}
