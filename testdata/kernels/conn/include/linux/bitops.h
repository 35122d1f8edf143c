/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_BITOPS_H
#define _LINUX_BITOPS_H

#include <linux/types.h>
#include <linux/compiler.h>

#define BIT(nr)		(1UL << (nr))

/* the atomic bit operations, as their callers see them */
void set_bit(long nr, volatile unsigned long *addr);
void clear_bit(long nr, volatile unsigned long *addr);
int test_bit(long nr, const volatile unsigned long *addr);
void assign_bit(long nr, volatile unsigned long *addr, bool value);

#endif
