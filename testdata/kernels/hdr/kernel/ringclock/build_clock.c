// SPDX-License-Identifier: GPL-2.0
/*
 * Ring clocks (miniature of kernel/sched/build_policy.c): one translation
 * unit made of the .c files it #includes, so gcc reads them in order.
 */

#include <linux/kernel.h>
#include <linux/ringclock.h>
#include <linux/slab.h>

#include "fast.c"
#include "slow.c"
