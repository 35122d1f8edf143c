/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_WORKQUEUE_H
#define _LINUX_WORKQUEUE_H

#include <linux/kernel.h>
#include <linux/list.h>

struct work_struct;
typedef void (*work_func_t)(struct work_struct *work);

struct work_struct {
	unsigned long data;
	struct list_head entry;
	work_func_t func;
};

struct delayed_work {
	struct work_struct work;
	unsigned long expires;
	int cpu;
};

struct workqueue_struct;

#define INIT_WORK(_work, _func)				\
	do {						\
		INIT_LIST_HEAD(&(_work)->entry);	\
		(_work)->func = (_func);		\
	} while (0)

#define INIT_DELAYED_WORK(_work, _func)			\
	do {						\
		INIT_WORK(&(_work)->work, (_func));	\
		(_work)->cpu = -1;			\
	} while (0)

static inline struct delayed_work *to_delayed_work(struct work_struct *work)
{
	return container_of(work, struct delayed_work, work);
}

bool queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dwork,
			unsigned long delay);
bool schedule_work(struct work_struct *work);
bool cancel_work_sync(struct work_struct *work);
bool cancel_delayed_work_sync(struct delayed_work *dwork);

#endif
