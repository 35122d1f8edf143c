// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/notifier.h>

int notifier_chain_register(struct notifier_block **nl,
			    struct notifier_block *n)
{
	while ((*nl) != NULL) {
		if (n->priority > (*nl)->priority)
			break;
		nl = &((*nl)->next);
	}
	n->next = *nl;
	*nl = n;
	return 0;
}

int notifier_call_chain(struct notifier_block **nl, unsigned long val,
			void *v)
{
	int ret = NOTIFY_DONE;
	struct notifier_block *nb = *nl;

	while (nb) {
		ret = nb->notifier_call(nb, val, v);
		if (ret & NOTIFY_STOP_MASK)
			break;
		nb = nb->next;
	}
	return ret;
}
