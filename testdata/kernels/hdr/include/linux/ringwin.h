/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGWIN_H
#define _LINUX_RINGWIN_H

/* The receive window of a ring, in slots. */
#define RING_WIN_OLD	8
#define RING_WIN_SIZE	16

/* Rings that still take the legacy window. */
#define RING_WIN_LEGACY	1

#ifdef CONFIG_64BIT
#define RING_WIN_WIDE	32
#endif

#endif /* _LINUX_RINGWIN_H */
