/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __LINUX_COMPILER_H
#define __LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define __init		__attribute__((__section__(".init.text")))
#define __exit		__attribute__((__section__(".exit.text")))
#define __read_mostly	__attribute__((__section__(".data..read_mostly")))
#define __always_inline	inline __attribute__((__always_inline__))
#define notrace		__attribute__((__no_instrument_function__))
#define READ_ONCE(x)	(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val) (*(volatile typeof(x) *)&(x) = (val))
#define __same_type(a, b) __builtin_types_compatible_p(typeof(a), typeof(b))

#endif
