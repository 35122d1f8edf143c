// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ring.h>
#include "legacy.h"

u32 legacy_fill(const struct ring *r)
{
	return ring_used(r) * 100 / r->size;
}
