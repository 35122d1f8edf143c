/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _RINGHW_H
#define _RINGHW_H

#include <linux/types.h>

/* Slots of the ring hardware. */
#define RINGHW_SLOTS	8

#endif /* _RINGHW_H */
