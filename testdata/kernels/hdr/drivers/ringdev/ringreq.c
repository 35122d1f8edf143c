// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/ringsync.h>

#include "ringreq.h"

void ringreq_init(struct ringreq *req, u32 opcode)
{
	req->opcode = opcode;
	req->err = 0;
}
EXPORT_SYMBOL(ringreq_init);

int ringsync_run(u32 opcode)
{
	struct ringreq req;

	ringreq_init(&req, opcode);
	return req.err ? req.err : RINGREQ_DONE;
}
