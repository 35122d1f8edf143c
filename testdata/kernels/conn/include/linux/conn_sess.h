/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_SESS_H
#define _LINUX_CONN_SESS_H

#include <linux/types.h>
#include <linux/rcupdate.h>

/* A session: looked up under RCU, deleted under conn_sess_lock. */
struct conn_sess {
	struct conn_sess *next;
	u32 id;
	u32 flags;
};

struct conn_sess *conn_sess_new(u32 id);
void conn_sess_del(struct conn_sess *s);
void conn_sess_release(struct conn_sess *s);
void conn_sess_drop_all(void);

#endif
