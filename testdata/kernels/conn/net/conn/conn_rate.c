// SPDX-License-Identifier: GPL-2.0
/*
 * Rate accounting (miniature, for kprewrite's shadow cases).
 */

#include <linux/kernel.h>
#include <linux/conn.h>

static u32 conn_rate_charge(struct conn *c, u32 len)
{
	return len;
}

void conn_rate_account(struct conn *c, u32 len)
{
	c->bytes += conn_rate_charge(c, len);
}

u32 conn_rate_quota(struct conn *c, u32 len)
{
	pr_info("conn_rate: quota at line %d\n", __LINE__);
	return len;
}
