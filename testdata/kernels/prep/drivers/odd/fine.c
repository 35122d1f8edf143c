// SPDX-License-Identifier: GPL-2.0
#include <linux/gauge.h>

int odd_fine(const struct gauge *g)
{
	return gauge_read(g) - 1;
}
