// SPDX-License-Identifier: GPL-2.0
/*
 * Packet sockets of the connection layer (a miniature of
 * net/packet/af_packet.c).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/conn_pkt.h>

struct pkt_sock *pkt_create(u32 id)
{
	struct pkt_sock *po = kzalloc(sizeof(*po), GFP_KERNEL);

	if (po)
		po->id = id;
	return po;
}

void pkt_bind(struct pkt_sock *po)
{
	if (!po->running)
		po->running = 1;
}

void pkt_unbind(struct pkt_sock *po)
{
	po->running = 0;
}

int pkt_hdr_len(const struct pkt_sock *po)
{
	return po->has_hdr ? 10 : 0;
}

void pkt_set_opts(struct pkt_sock *po, int hdr, int loss)
{
	po->has_hdr = !!hdr;
	po->tp_loss = !!loss;
}

int pkt_get_loss(const struct pkt_sock *po)
{
	return po->tp_loss;
}
