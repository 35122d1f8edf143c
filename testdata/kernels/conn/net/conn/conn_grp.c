// SPDX-License-Identifier: GPL-2.0
/*
 * Multicast groups of the connection layer (a miniature of genl_bind() in
 * net/netlink/genetlink.c and the group tables of its families).
 */
#include <linux/kernel.h>
#include <linux/conn_grp.h>

static const struct conn_grp conn_grps[] = {
	{ .name = "events", .cap_sys_admin = 1 },
	{ .name = "config",
	  .flags = CONN_UNS_ADMIN_PERM },
	{ .name = "stats" },
};

int conn_grp_bind(int group)
{
	const struct conn_grp *grp;

	if (group < 0 || group >= ARRAY_SIZE(conn_grps))
		return -EINVAL;
	grp = &conn_grps[group];
	if ((grp->flags & CONN_UNS_ADMIN_PERM) &&
	    !conn_net_admin())
		return -EPERM;
	if (grp->cap_sys_admin &&
	    !conn_sys_admin())
		return -EPERM;
	return 0;
}
