// SPDX-License-Identifier: GPL-2.0
/*
 * Event notifications (miniature, for kprewrite's structext cases).
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/evt.h>

static struct notifier_block *evt_chain;
static struct evt_slot evt_slots[4];

int evt_register(struct notifier_block *nb)
{
	return notifier_chain_register(&evt_chain, nb);
}

int evt_raise(int code)
{
	struct evt_info info = {
		.base = {
			.type = 1,
		},
		.code = code,
	};

	return notifier_call_chain(&evt_chain, 1, &info.base);
}

int evt_request(u32 len)
{
	struct evt_req *req;
	int ret;

	req = kzalloc(sizeof(struct evt_req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	req->base.type = 2;
	req->len = len;
	ret = notifier_call_chain(&evt_chain, 2, &req->base);
	kfree(req);
	return ret;
}

void evt_count(struct evt_owner *o)
{
	o->stat.count++;
	notifier_call_chain(&evt_chain, 3, &o->stat.base);
}

void evt_slots_show(void)
{
	int i;

	for (i = 0; i < 4; i++)
		notifier_call_chain(&evt_chain, 4, &evt_slots[i].base);
}

void evt_mark_copy(struct evt_mark *dst, const struct evt_mark *src)
{
	*dst = *src;
	notifier_call_chain(&evt_chain, 5, &dst->base);
}

/* an owner is never freed: its statistics live as long as the kernel */
struct evt_owner *evt_owner_new(int id)
{
	struct evt_owner *o = kzalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return NULL;
	o->id = id;
	return o;
}
