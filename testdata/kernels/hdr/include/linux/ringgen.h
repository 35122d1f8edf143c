/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGGEN_H
#define _LINUX_RINGGEN_H

#include <linux/types.h>

u32 ring_gen_next(u32 gen);

#endif /* _LINUX_RINGGEN_H */
