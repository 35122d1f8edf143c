/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

typedef unsigned char u8;
typedef signed char s8;
typedef unsigned short u16;
typedef signed short s16;
typedef unsigned int u32;
typedef signed int s32;
typedef unsigned long long u64;
typedef signed long long s64;
typedef unsigned long size_t;
typedef unsigned int gfp_t;
typedef _Bool bool;

enum {
	false	= 0,
	true	= 1
};

#define NULL ((void *)0)

struct list_head {
	struct list_head *next, *prev;
};

#endif /* _LINUX_TYPES_H */
