/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RINGMSG_H
#define _LINUX_RINGMSG_H

#include <linux/types.h>

/* A message as the device writes it into the ring: never allocated. */
struct ring_msg {
	u32 len;
	u32 kind;
	u8 body; /* len bytes */
} __attribute__((__packed__));

/* What the driver remembers of the last messages. */
struct ring_rec {
	u32 seen;
	u8 last;
};

int ring_msg_count(const void *buf, size_t size);
u32 ring_rec_seen(void);

#endif /* _LINUX_RINGMSG_H */
