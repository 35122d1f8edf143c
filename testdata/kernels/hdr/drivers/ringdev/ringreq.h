/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _RINGREQ_H
#define _RINGREQ_H

#include <linux/types.h>

#define RINGREQ_DONE	0
#define RINGREQ_PEND	1

struct ringreq {
	u32 opcode;
	/* the error of the request, if any */
	int err;
};

void ringreq_init(struct ringreq *req, u32 opcode);

#endif /* _RINGREQ_H */
