// SPDX-License-Identifier: GPL-2.0
#include <linux/gauge.h>

int gauge_total(const struct gauge *a, const struct gauge *b)
{
	return gauge_read(a) + gauge_read(b);
}
