/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGMODE_H
#define _LINUX_RINGMODE_H

enum ring_mode {
	RING_MODE_OFF,
	RING_MODE_POLL,
	RING_MODE_IRQ,
	RING_MODE_MAX,
};

enum ring_event {
	RING_EV_FILL = 1,
	RING_EV_DRAIN,
};

#define RING_MODE_DEFAULT	RING_MODE_POLL

int ring_mode_set(int mode);
int ring_mode_count(void);
void ring_event(int ev);

struct ring_ops {
	int (*set_mode)(int mode);
	void (*event)(int ev);
};

int ring_apply(const struct ring_ops *ops, int mode);
int ring_mode_restore(void);

#endif /* _LINUX_RINGMODE_H */
