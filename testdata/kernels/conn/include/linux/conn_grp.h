/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_CONN_GRP_H
#define _LINUX_CONN_GRP_H

#include <linux/types.h>
#include <linux/bitops.h>

/* Permission flags of a connection layer operation. */
#define CONN_ADMIN_PERM		0x01
#define CONN_UNS_ADMIN_PERM	0x10

/**
 * struct conn_grp - a multicast group of the connection layer (a
 * miniature of struct genl_multicast_group)
 * @name: name of the group
 * @flags: CONN_* flags (%CONN_ADMIN_PERM or %CONN_UNS_ADMIN_PERM)
 * @cap_sys_admin: whether %CAP_SYS_ADMIN is required for binding
 */
struct conn_grp {
	const char		*name;
	u8			flags;
	u8			cap_sys_admin:1;
};

bool conn_net_admin(void);
bool conn_sys_admin(void);
int conn_grp_bind(int group);

#endif
