/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGARCH_H
#define _LINUX_RINGARCH_H

/* this architecture flushes rings itself */
#define ring_arch_flush ring_arch_flush

#endif /* _LINUX_RINGARCH_H */
