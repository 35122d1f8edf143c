// SPDX-License-Identifier: GPL-2.0
/*
 * A network port (miniature driver for kprewrite's bitfield cases).
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/port.h>

struct port *port_alloc(int id)
{
	struct port *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return NULL;
	p->id = id;
	p->admin = 1;
	return p;
}

void port_free(struct port *p)
{
	kfree(p);
}

void port_link_change(struct port *p, bool up)
{
	p->up = up;
	if (p->admin && up)
		p->carrier = 1;
	pr_info("port %d: link %s\n", p->id, up ? "up" : "down");
}

void port_set_level(struct port *p, int level)
{
	p->level = level;
	p->qlen = 16;
}

void port_debug(struct port *p, bool on)
{
	p->dbg = on;
	if (p->trace)
		pr_info("port %d: debug %d\n", p->id, on);
}
