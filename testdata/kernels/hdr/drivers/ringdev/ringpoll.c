// SPDX-License-Identifier: GPL-2.0
/*
 * Polls rings (miniature): it includes only linux/ringgen.h and flushes by
 * itself unless the architecture says it does.
 */
#include <linux/kernel.h>
#include <linux/ringgen.h>

static u32 ringpoll_flushes;

u32 ringpoll_poll(u32 gen)
{
#ifndef ring_arch_flush
	ringpoll_flushes++;
#endif
	return ring_gen_next(gen);
}
