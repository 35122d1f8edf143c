// SPDX-License-Identifier: GPL-2.0
/* The part of blk-mq kprewrite reads: request payloads start zeroed. */
#include <linux/blk-mq.h>

int blk_mq_alloc_rqs(struct blk_mq_tag_set *set, unsigned int depth)
{
	page = alloc_pages_node(node,
		GFP_NOIO | __GFP_NOWARN | __GFP_NORETRY | __GFP_ZERO,
		this_order);
	return 0;
}
