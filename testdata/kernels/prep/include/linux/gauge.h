/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_GAUGE_H
#define _LINUX_GAUGE_H

/* next to this header, found by a quoted include */
#include "gauge_flags.h"

struct gauge {
	int value;
	unsigned int flags;
};

static inline int gauge_read(const struct gauge *g)
{
	return g->value;
}

#endif /* _LINUX_GAUGE_H */
