/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_H
#define _LINUX_CONN_H

#include <linux/types.h>
#include <linux/list.h>

/* A connection: allocated zeroed, never copied. */
struct conn {
	struct list_head list;
	u16 port;
	u64 bytes;
	u32 state;
};

/* A session: copied by value into snapshots. */
struct sess {
	u32 id;
	u64 opened;
	u32 flags;
};

struct conn *conn_create(u16 port);
void conn_destroy(struct conn *c);
void sess_snapshot(struct sess *dst, const struct sess *src);
struct sess *sess_new(u32 id);

#endif
