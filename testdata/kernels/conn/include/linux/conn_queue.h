/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_QUEUE_H
#define _LINUX_CONN_QUEUE_H

#include <linux/blk-mq.h>

/* The payload blk-mq puts behind each of the conn queue's requests. */
struct conn_cmd {
	void *buf;
	int retries;
	unsigned int tag;
};

static inline struct conn_cmd *req_to_conn_cmd(struct request *rq)
{
	return blk_mq_rq_to_pdu(rq);
}

#endif
