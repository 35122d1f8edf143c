/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGSYNC_H
#define _LINUX_RINGSYNC_H

#include <linux/types.h>

int ringsync_run(u32 opcode);

#endif /* _LINUX_RINGSYNC_H */
