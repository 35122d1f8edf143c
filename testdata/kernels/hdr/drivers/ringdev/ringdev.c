// SPDX-License-Identifier: GPL-2.0
/*
 * A device with a ring (miniature module).
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/ring.h>

static struct ring ringdev_ring;

static void ringdev_poll(void)
{
	if (RING_EMPTY(&ringdev_ring))
		return;
	pr_info("ringdev: %u queued\n", ring_used(&ringdev_ring));
	ringdev_ring.tail++;
}

static int __init ringdev_init(void)
{
	ring_init(&ringdev_ring, 16);
	ringdev_poll();
	return 0;
}

module_init(ringdev_init);
MODULE_LICENSE("GPL");
