// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringop.h>

static struct ring_log ring_log;

static int ring_op_data(const struct ring_msg *m)
{
	return m->len;
}

static int ring_op_ctrl(const struct ring_msg *m)
{
	return -m->kind;
}

static const struct ring_op ring_ops[] = {
	{ .kind = 1, .handle = ring_op_data },
	{ .kind = 2, .handle = ring_op_ctrl },
};

#define RING_OP_COUNT	(sizeof(ring_ops) / sizeof(ring_ops[0]))

int ring_msg_dispatch(const struct ring_msg *m)
{
	const struct ring_op *op;

	if (m->kind == 0 || m->kind > RING_OP_COUNT)
		return -EINVAL;
	op = &ring_ops[m->kind - 1];
	ring_log.kind = m->kind;
	ring_log.ret = op->handle(m);
	return ring_log.ret;
}
