/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _LINUX_MODULE_H
#define _LINUX_MODULE_H

#include <linux/kernel.h>

#define module_init(initfn)					\
	int init_module(void) __attribute__((alias(#initfn)))
#define module_exit(exitfn)					\
	void cleanup_module(void) __attribute__((alias(#exitfn)))
#define MODULE_LICENSE(_license) \
	static const char __mod_license[] __attribute__((used)) = _license
#define EXPORT_SYMBOL(sym)	extern typeof(sym) sym

#endif
