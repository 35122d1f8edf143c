/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __LINUX_MUTEX_H
#define __LINUX_MUTEX_H

struct mutex {
	long owner;
};

#define DEFINE_MUTEX(mutexname) struct mutex mutexname = { 0 }

void mutex_lock(struct mutex *lock);
void mutex_unlock(struct mutex *lock);

#endif
