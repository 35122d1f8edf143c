// SPDX-License-Identifier: GPL-2.0
/*
 * Gateways of the connection layer (a miniature of batman-adv's bridge
 * loop avoidance).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/conn_gw.h>

#define CONN_GW_WAIT_PERIODS	3

struct conn_gw *conn_gw_create(u32 id, bool own)
{
	struct conn_gw *gw = kzalloc(sizeof(*gw), GFP_KERNEL);

	if (!gw)
		return NULL;
	gw->id = id;
	atomic_set(&gw->request_sent, 0);
	atomic_set(&gw->wait_periods, 0);
	if (own) {
		atomic_inc(&gw->request_sent);
		atomic_set(&gw->wait_periods, CONN_GW_WAIT_PERIODS);
	}
	return gw;
}

void conn_gw_send_request(struct conn_gw *gw)
{
	if (!atomic_read(&gw->request_sent))
		atomic_set(&gw->request_sent, 1);
}

void conn_gw_answer(struct conn_gw *gw)
{
	if (atomic_read(&gw->request_sent))
		atomic_set(&gw->request_sent, 0);
}

void conn_gw_tick(struct conn_gw *gw)
{
	if (atomic_read(&gw->request_sent) == 0)
		return;
	if (!atomic_dec_and_test(&gw->wait_periods))
		return;
	atomic_set(&gw->request_sent, 0);
}
