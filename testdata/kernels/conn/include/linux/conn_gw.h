/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_GW_H
#define _LINUX_CONN_GW_H

#include <linux/types.h>
#include <linux/atomic.h>

/* A gateway of the connection layer (a miniature of batman-adv's
 * struct batadv_bla_backbone_gw): allocated zeroed, never copied.
 */
struct conn_gw {
	u32 id;
	/* grace periods before traffic flows again */
	atomic_t wait_periods;
	/* out of sync with this gateway: no traffic until it answers */
	atomic_t request_sent;
	u16 crc;
};

struct conn_gw *conn_gw_create(u32 id, bool own);
void conn_gw_send_request(struct conn_gw *gw);
void conn_gw_answer(struct conn_gw *gw);
void conn_gw_tick(struct conn_gw *gw);

#endif /* _LINUX_CONN_GW_H */
