// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>

#include "hw/ringhw.h"

u32 ringhw_slots(u32 want)
{
	return want < RINGHW_SLOTS ? want : RINGHW_SLOTS;
}
