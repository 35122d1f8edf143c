// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "ringcache.h"

static void __ringcache_copy(struct ringcache *to, const struct ringsrc *from)
{
	to->efer = from->efer;
	to->cr0 = from->cr0;
}

void ringcache_copy(struct ringctx *ctx, const struct ringsrc *src)
{
	__ringcache_copy(&ctx->cache, src);
}
EXPORT_SYMBOL(ringcache_copy);

static bool __ringcache_check(struct ringcache *c)
{
	if (c->efer & 1)
		return false;
	return true;
}

static bool ringcache_check(struct ringcore *core)
{
	struct ringctx *ctx = to_ringctx(core);
	struct ringcache *c = &ctx->cache;

	return __ringcache_check(c);
}

int ringcache_run(struct ringcore *core, const struct ringsrc *src)
{
	struct ringctx *ctx = to_ringctx(core);

	ringcache_copy(ctx, src);
	if (!ringcache_check(core))
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL(ringcache_run);

int ringcache_restore(const struct ringsrc *src)
{
	struct ringcache tmp;

	__ringcache_copy(&tmp, src);
	if (!__ringcache_check(&tmp))
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL(ringcache_restore);

struct ringcore *ringcache_create(void)
{
	struct ringctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	return ctx ? &ctx->core : NULL;
}
EXPORT_SYMBOL(ringcache_create);

void ringcache_destroy(struct ringcore *core)
{
	kfree(to_ringctx(core));
}
EXPORT_SYMBOL(ringcache_destroy);
