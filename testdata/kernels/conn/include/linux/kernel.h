/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_KERNEL_H
#define _LINUX_KERNEL_H

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/compiler.h>
#include <linux/build_bug.h>
#include <linux/printk.h>

#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))

#define container_of(ptr, type, member) ({				\
	void *__mptr = (void *)(ptr);					\
	((type *)(__mptr - offsetof(type, member))); })

#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define min(x, y)	((x) < (y) ? (x) : (y))

#define EINVAL		22
#define ENOMEM		12
#define EBUSY		16
#define EPERM		1

#endif
