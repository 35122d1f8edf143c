// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>

int _printk(const char *fmt, ...)
{
	return 0;
}
