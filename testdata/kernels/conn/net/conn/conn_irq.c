// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/interrupt.h>
#include <linux/conn.h>

irqreturn_t conn_irq(int irq, void *data)
{
	struct conn *c = data;

	c->state = 1;
	return IRQ_HANDLED;
}
