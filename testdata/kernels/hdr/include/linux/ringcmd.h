/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGCMD_H
#define _LINUX_RINGCMD_H

#include <linux/types.h>

/* One command of the driver's ioctl-like table. */
struct ring_cmd_desc {
	u32 cmd;
	int (*func)(u32 arg);
	const char *name;
};

int ring_cmd_run(u32 cmd, u32 arg);

#endif /* _LINUX_RINGCMD_H */
