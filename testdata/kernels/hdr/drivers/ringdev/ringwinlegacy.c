// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringwin.h>

int ring_win_legacy(void)
{
#ifdef RING_WIN_LEGACY
	return RING_WIN_SIZE / 2;
#else
	return RING_WIN_SIZE;
#endif
}
