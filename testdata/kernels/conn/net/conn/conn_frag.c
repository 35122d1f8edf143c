// SPDX-License-Identifier: GPL-2.0
/*
 * Fragments (miniature, for kprewrite's creation sites of arrays).
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/conn_frag.h>

static struct frag boot_frags[2];
static struct frag_slot slots[4];

struct frag_owner *frag_owner_new(void)
{
	struct frag_owner *o = kmalloc(sizeof(*o), GFP_KERNEL);

	if (o)
		o->nr = 0;
	return o;
}

void frag_owner_flush(struct frag_owner *o)
{
	mutex_lock(&o->lock);
	o->nr = 0;
	mutex_unlock(&o->lock);
}

void frag_owner_free(struct frag_owner *o)
{
	kfree(o);
}

u32 frag_slot_used(int i)
{
	return slots[i].used + boot_frags[0].len;
}
