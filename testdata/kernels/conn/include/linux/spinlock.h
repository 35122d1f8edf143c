/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __LINUX_SPINLOCK_H
#define __LINUX_SPINLOCK_H

#include <linux/types.h>

typedef struct spinlock {
	unsigned int magic;	/* checked by lock debugging: zero is not a valid lock */
	unsigned int val;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(lockname)	((spinlock_t){ .magic = 0xdead4ead })

void spin_lock_init(spinlock_t *lock);
void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);

#define DEFINE_SPINLOCK(x)	spinlock_t x = __SPIN_LOCK_UNLOCKED(x)

#define spin_lock_irqsave(lock, flags)		\
	do { (flags) = 0; spin_lock(lock); } while (0)
#define spin_unlock_irqrestore(lock, flags)	\
	do { (void)(flags); spin_unlock(lock); } while (0)

#endif
