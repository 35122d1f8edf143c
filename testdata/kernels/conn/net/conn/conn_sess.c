// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/rcupdate.h>
#include <linux/conn_sess.h>

static DEFINE_MUTEX(conn_sess_lock);
static spinlock_t conn_sess_fast_lock;
static struct conn_sess *conn_sess_list;

struct conn_sess *conn_sess_new(u32 id)
{
	struct conn_sess *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->id = id;
	mutex_lock(&conn_sess_lock);
	s->next = conn_sess_list;
	conn_sess_list = s;
	mutex_unlock(&conn_sess_lock);
	return s;
}

static void conn_sess_unlink(struct conn_sess *s)
{
	struct conn_sess **pp;

	for (pp = &conn_sess_list; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
}

static void conn_sess_free(struct conn_sess *s)
{
	s->flags = 0;
	kfree(s);
}

void conn_sess_del(struct conn_sess *s)
{
	mutex_lock(&conn_sess_lock);
	conn_sess_unlink(s);
	mutex_unlock(&conn_sess_lock);
	conn_sess_free(s);
}

void conn_sess_drop_all(void)
{
	mutex_lock(&conn_sess_lock);
	while (conn_sess_list) {
		struct conn_sess *s = conn_sess_list;

		conn_sess_unlink(s);
		conn_sess_free(s);
	}
	mutex_unlock(&conn_sess_lock);
}

/* callers may hold spinlocks of their own */
void conn_sess_release(struct conn_sess *s)
{
	spin_lock(&conn_sess_fast_lock);
	conn_sess_unlink(s);
	spin_unlock(&conn_sess_fast_lock);
	kfree(s);
}
