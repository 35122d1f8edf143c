// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/conn_queue.h>

static int conn_init_request(struct blk_mq_tag_set *set, struct request *rq,
			     unsigned int hctx_idx, unsigned int numa_node)
{
	struct conn_cmd *cmd = req_to_conn_cmd(rq);

	cmd->buf = kmalloc(64, GFP_KERNEL);
	if (!cmd->buf)
		return -1;
	return 0;
}

static void conn_exit_request(struct blk_mq_tag_set *set, struct request *rq,
			      unsigned int hctx_idx)
{
	struct conn_cmd *cmd = req_to_conn_cmd(rq);

	kfree(cmd->buf);
	cmd->buf = NULL;
}

static void conn_complete(struct request *rq)
{
	struct conn_cmd *cmd = req_to_conn_cmd(rq);

	if (cmd->retries++ < 3)
		rq->cmd_flags = 0;
}

static const struct blk_mq_ops conn_mq_ops = {
	.init_request	= conn_init_request,
	.exit_request	= conn_exit_request,
	.complete	= conn_complete,
};

static struct blk_mq_tag_set conn_tag_set;

int conn_queue_init(void)
{
	conn_tag_set.ops = &conn_mq_ops;
	conn_tag_set.queue_depth = 64;
	conn_tag_set.cmd_size = sizeof(struct conn_cmd);
	return blk_mq_alloc_tag_set(&conn_tag_set);
}
