/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_GAUGE_FLAGS_H
#define _LINUX_GAUGE_FLAGS_H

#define GAUGE_FLAG_STALE	0x1

#endif /* _LINUX_GAUGE_FLAGS_H */
