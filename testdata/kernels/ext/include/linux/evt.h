/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_EVT_H
#define _LINUX_EVT_H

#include <linux/types.h>
#include <linux/notifier.h>

struct evt_base {
	int type;
	void *source;
};

/* raised on the stack and handed down synchronously */
struct evt_info {
	struct evt_base base; /* must be first */
	int code;
};

/* allocated for a call and freed after it */
struct evt_req {
	struct evt_base base; /* must be first */
	u32 len;
};

/* also embedded in a long-lived object */
struct evt_stat {
	struct evt_base base; /* must be first */
	u64 count;
};

struct evt_owner {
	struct evt_stat stat;
	int id;
};

/* kept in an array */
struct evt_slot {
	struct evt_base base; /* must be first */
	u16 prio;
};

/* copied by value */
struct evt_mark {
	struct evt_base base; /* must be first */
	u32 seq;
};

int evt_register(struct notifier_block *nb);
int evt_raise(int code);
int evt_request(u32 len);
void evt_count(struct evt_owner *o);
void evt_slots_show(void);
void evt_mark_copy(struct evt_mark *dst, const struct evt_mark *src);

#endif
