/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_FRAG_H
#define _LINUX_CONN_FRAG_H

#include <linux/types.h>

/* A fragment: an array member of struct frag_owner (made on the heap,
 * with its owner) and a static array. */
struct frag {
	u64 gpa;
	u32 len;
};

struct frag_owner {
	int nr;
	struct frag frags[2];
};

/* A slot: only ever in a static array. */
struct frag_slot {
	u32 used;
};

struct frag_owner *frag_owner_new(void);
u32 frag_slot_used(int i);

#endif
