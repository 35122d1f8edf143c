/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGOP_H
#define _LINUX_RINGOP_H

#include <linux/ringmsg.h>

/* How the driver handles one kind of message: a const table of them. */
struct ring_op {
	u32 kind;
	int (*handle)(const struct ring_msg *m);
};

/* The last message handled: one static object, written at run time. */
struct ring_log {
	u32 kind;
	int ret;
};

int ring_msg_dispatch(const struct ring_msg *m);

#endif /* _LINUX_RINGOP_H */
