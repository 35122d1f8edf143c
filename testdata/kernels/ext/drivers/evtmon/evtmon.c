// SPDX-License-Identifier: GPL-2.0
/*
 * evtmon: watches events (miniature module).
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/evt.h>

static int evtmon_event(struct notifier_block *nb, unsigned long type,
			void *ptr)
{
	struct evt_base *base = ptr;

	switch (type) {
	case 1: {
		struct evt_info *info = container_of(base, struct evt_info, base);

		pr_info("evtmon: code %d\n", info->code);
		break;
	}
	case 2: {
		struct evt_req *req = container_of(base, struct evt_req, base);

		pr_info("evtmon: request of %u\n", req->len);
		break;
	}
	case 3: {
		struct evt_stat *stat = container_of(base, struct evt_stat, base);

		pr_info("evtmon: count %llu\n", stat->count);
		break;
	}
	case 4: {
		struct evt_slot *slot = container_of(base, struct evt_slot, base);

		pr_info("evtmon: slot prio %u\n", slot->prio);
		break;
	}
	case 5: {
		struct evt_mark *mark = container_of(base, struct evt_mark, base);

		pr_info("evtmon: mark %u\n", mark->seq);
		break;
	}
	}
	return NOTIFY_DONE;
}

static struct notifier_block evtmon_nb = {
	.notifier_call = evtmon_event,
};

static int __init evtmon_init(void)
{
	return evt_register(&evtmon_nb);
}

module_init(evtmon_init);
MODULE_LICENSE("GPL");
