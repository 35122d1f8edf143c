// SPDX-License-Identifier: GPL-2.0
/* The part of blk-mq kprewrite reads: the flush request starts zeroed. */
#include <linux/blk-mq.h>

struct blk_flush_queue *blk_alloc_flush_queue(int node, int cmd_size, gfp_t flags)
{
	fq->flush_rq = kzalloc_node(rq_sz, flags, node);
	return fq;
}
