// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/ringcmd.h>

static int ring_cmd_reset(u32 arg)
{
	return arg ? -EINVAL : 0;
}

static int ring_cmd_grow(u32 arg)
{
	return arg;
}

#define RING_CMD_DEF(_cmd, _func) \
	[_cmd] = { .cmd = _cmd, .func = _func, .name = #_func }

static const struct ring_cmd_desc ring_cmds[] = {
	RING_CMD_DEF(0, ring_cmd_reset),
	RING_CMD_DEF(1, ring_cmd_grow),
};

int ring_cmd_run(u32 cmd, u32 arg)
{
	const struct ring_cmd_desc *d;

	if (cmd >= sizeof(ring_cmds) / sizeof(ring_cmds[0]))
		return -EINVAL;
	d = &ring_cmds[cmd];
	return d->func(arg);
}
