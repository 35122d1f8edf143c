/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __KERNEL_PRINTK__
#define __KERNEL_PRINTK__

int _printk(const char *fmt, ...);

#define pr_info(fmt, ...)	_printk(fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	_printk(fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	do { } while (0)

#define printk_once(fmt, ...)					\
({								\
	static bool __print_once __read_mostly;			\
	bool __ret_print_once = !__print_once;			\
								\
	if (!__print_once) {					\
		__print_once = true;				\
		_printk(fmt, ##__VA_ARGS__);			\
	}							\
	__ret_print_once;					\
})

#define pr_info_once(fmt, ...)	printk_once(fmt, ##__VA_ARGS__)

#endif
