// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringwin.h>

int ring_win_clamp(int n)
{
	if (n > RING_WIN_OLD)
		return RING_WIN_OLD;
	return n;
}

int ring_win_wide(int n)
{
	return n > RING_WIN_WIDE ? RING_WIN_WIDE : n;
}
