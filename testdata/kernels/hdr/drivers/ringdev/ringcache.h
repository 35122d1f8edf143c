/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _RINGCACHE_H
#define _RINGCACHE_H

#include <linux/kernel.h>
#include <linux/types.h>

struct ringseg {
	u16 sel;
	u16 attrib;
	u32 limit;
};

/* what the guest handed in, as the device reads it */
struct ringsrc {
	u64 efer;
	u64 cr0;
	struct ringseg cs;
};

/* the checked copy of a ringsrc: checks read it, not the guest's memory */
struct ringcache {
	u64 efer;
	u64 cr0;
};

struct ringcore {
	int id;
};

struct ringctx {
	struct ringcore core;
	struct ringcache cache;
};

static inline struct ringctx *to_ringctx(struct ringcore *core)
{
	return container_of(core, struct ringctx, core);
}

void ringcache_copy(struct ringctx *ctx, const struct ringsrc *src);
int ringcache_run(struct ringcore *core, const struct ringsrc *src);
int ringcache_restore(const struct ringsrc *src);

#endif /* _RINGCACHE_H */
