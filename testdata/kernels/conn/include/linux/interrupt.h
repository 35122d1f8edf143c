/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_INTERRUPT_H
#define _LINUX_INTERRUPT_H

typedef int irqreturn_t;
#define IRQ_NONE	0
#define IRQ_HANDLED	1

#endif
