// SPDX-License-Identifier: GPL-2.0
/* Built with CONFIG_GAUGE_DEBUG only; it does not compile (a stale name). */
#include <linux/gauge.h>

int gauge_debug(const struct gauge *g)
{
	return gauge_read(g) + gauge_debug_level;
}
