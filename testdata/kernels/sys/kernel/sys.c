// SPDX-License-Identifier: GPL-2.0
/*
 * A few system calls, the way kernel/sys.c defines them.
 */
#include <linux/errno.h>
#include <linux/syscalls.h>
#include <linux/utsname.h>

static int hostname_len;
static int parent_pid = 1;

SYSCALL_DEFINE0(getppid)
{
	return parent_pid;
}

SYSCALL_DEFINE2(sethostname, char __user *, name, int, len)
{
	if (len < 0 || len > __NEW_UTS_LEN)
		return -EINVAL;
	hostname_len = len;
	return 0;
}

#ifdef CONFIG_COMPAT
COMPAT_SYSCALL_DEFINE2(sethostname, char __user *, name, compat_int_t, len)
{
	if (len < 0 || len > __NEW_UTS_LEN)
		return -EINVAL;
	hostname_len = len;
	return 0;
}
#endif

static int domainname_len;

/* two definitions, one per argument order, as kernel/fork.c defines clone */
#ifdef CONFIG_CLONE_BACKWARDS
SYSCALL_DEFINE2(setdomainname, int, len, char __user *, name)
{
	if (len < 0 || len > __NEW_UTS_LEN)
		return -EINVAL;
	domainname_len = len;
	return 0;
}
#else
SYSCALL_DEFINE2(setdomainname, char __user *, name, int, len)
{
	if (len < 0 || len > __NEW_UTS_LEN)
		return -EINVAL;
	domainname_len = len;
	return 0;
}
#endif
