// SPDX-License-Identifier: GPL-2.0
/*
 * Ring device states (miniature): an enum and macros of a .c file that its
 * objects hold and its struct uses. The Makefile does not build it; it
 * includes nothing, so no header of the tree gains an includer.
 */

#define RING_STATE_HIST		8
#define RING_STATE_HIST_BYTES	(RING_STATE_HIST * 2)

enum ring_state { RS_IDLE, RS_RUNNING, RS_STOPPED, RS_NR };

struct ring_state_dev {
	enum ring_state state;
	unsigned char hist[RING_STATE_HIST_BYTES];
	int users;
};

static const char *const ring_state_names[] = { "idle", "running", "stopped", "?" };

int ring_state_start(struct ring_state_dev *d)
{
	if (d->state == RS_RUNNING)
		return -1;
	d->state = RS_RUNNING;
	d->users++;
	return 0;
}

int ring_state_stop(struct ring_state_dev *d)
{
	if (d->state != RS_RUNNING)
		return -1;
	d->state = RS_STOPPED;
	return 0;
}

const char *ring_state_name(const struct ring_state_dev *d)
{
	return ring_state_names[d->state];
}
