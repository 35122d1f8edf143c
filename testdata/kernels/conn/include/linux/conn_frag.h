/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_FRAG_H
#define _LINUX_CONN_FRAG_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>

/* A fragment: an array member of struct frag_owner (made on the heap,
 * with its owner) and a static array. */
struct frag {
	u64 gpa;
	u32 len;
};

struct frag_owner {
	int nr;
	struct frag frags[2];
	struct mutex lock;
};

/* A slot: only ever in a static array. */
struct frag_slot {
	u32 used;
};

struct frag_owner *frag_owner_new(void);
void frag_owner_flush(struct frag_owner *o);
void frag_owner_free(struct frag_owner *o);
u32 frag_slot_used(int i);

#endif
