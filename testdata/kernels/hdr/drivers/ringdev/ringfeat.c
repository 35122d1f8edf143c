// SPDX-License-Identifier: GPL-2.0
/*
 * Ring features (miniature, for header2c's token-pasted generator case).
 */

#include <linux/ringfeat.h>

bool ringfeat_wants_crc(const struct ringfeat *f)
{
	return ring_has_feature_crc(f);
}

struct ringfeat_dev {
	struct ringfeat feat;
	void (*poll)(struct ringfeat_dev *d);
	int polls;
	int state;
};

static void ringfeat_poll(struct ringfeat_dev *d)
{
	d->polls++;
}

void ringfeat_start(struct ringfeat_dev *d)
{
	d->poll = ringfeat_poll;
}

bool ringfeat_on(const struct ringfeat_dev *d)
{
	return d->state == RINGFEAT_ON;
}

enum { RINGFEAT_batch, RINGFEAT_crc, RINGFEAT_zero };

#undef FN
#define FN(n)	[RINGFEAT_##n] = #n,
const char * const ringfeat_names[] = {
	RINGFEAT_NAMES(FN)
};
#undef FN

void ringfeat_stop(struct ringfeat_dev *d)
{
	d->state = RINGFEAT_OFF;
}

/* a state read from a device, tested away from it */
bool ringfeat_state_off(int state)
{
	return state == RINGFEAT_OFF;
}
