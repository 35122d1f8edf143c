/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_PKT_H
#define _LINUX_CONN_PKT_H

#include <linux/types.h>
#include <linux/bitops.h>

/* A packet socket: allocated zeroed, never copied. */
struct pkt_sock {
	u32 id;
	unsigned long flags;
	unsigned int running;	/* bind lock held */
	unsigned int has_hdr:1,	/* writer holds the socket lock */
		     tp_loss:1;
	int pressure;
};

enum pkt_sock_flags {
	PKT_SOCK_ORIGDEV,
};

static inline void pkt_sock_flag_set(struct pkt_sock *po,
				     enum pkt_sock_flags flag, bool val)
{
	if (val)
		set_bit(flag, &po->flags);
	else
		clear_bit(flag, &po->flags);
}

static inline bool pkt_sock_flag(const struct pkt_sock *po,
				 enum pkt_sock_flags flag)
{
	return test_bit(flag, &po->flags);
}

struct pkt_sock *pkt_create(u32 id);
void pkt_bind(struct pkt_sock *po);
void pkt_unbind(struct pkt_sock *po);
int pkt_hdr_len(const struct pkt_sock *po);
void pkt_set_opts(struct pkt_sock *po, int hdr, int loss);
int pkt_get_loss(const struct pkt_sock *po);

#endif
