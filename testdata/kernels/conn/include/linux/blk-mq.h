/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_BLK_MQ_H
#define _LINUX_BLK_MQ_H

#include <linux/types.h>

struct request {
	int tag;
	unsigned int cmd_flags;
};

struct blk_mq_tag_set;

struct blk_mq_ops {
	int (*init_request)(struct blk_mq_tag_set *set, struct request *rq,
			    unsigned int hctx_idx, unsigned int numa_node);
	void (*exit_request)(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx);
	void (*complete)(struct request *rq);
};

struct blk_mq_tag_set {
	const struct blk_mq_ops *ops;
	unsigned int queue_depth;
	unsigned int cmd_size;
	void *driver_data;
};

int blk_mq_alloc_tag_set(struct blk_mq_tag_set *set);

static inline void *blk_mq_rq_to_pdu(struct request *rq)
{
	return rq + 1;
}

#endif
