/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_ERRNO_H
#define _LINUX_ERRNO_H

#define EINVAL 22

#endif /* _LINUX_ERRNO_H */
