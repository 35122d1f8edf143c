/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_JUMP_LABEL_H
#define _LINUX_JUMP_LABEL_H

#include <linux/compiler.h>

/*
 * The kernel's static keys on x86: a key is a count; a site is a jump label,
 * a nop that the kernel patches into a jump, recorded in __jump_table
 * (arch/x86/include/asm/jump_label.h).
 */
struct static_key {
	int enabled;
};

struct static_key_true {
	struct static_key key;
};

struct static_key_false {
	struct static_key key;
};

static __always_inline int arch_static_branch(struct static_key *key, int branch)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - ., %l[l_yes] - .\n\t"
		 ".quad %c0 + %c1 - .\n\t"
		 ".popsection\n\t"
		 : : "i" (key), "i" (branch) : : l_yes);
	return 0;
l_yes:
	return 1;
}

#define DEFINE_STATIC_KEY_TRUE(name)	struct static_key_true name = { { 1 } }
#define DEFINE_STATIC_KEY_FALSE(name)	struct static_key_false name = { { 0 } }
#define DECLARE_STATIC_KEY_TRUE(name)	extern struct static_key_true name
#define DECLARE_STATIC_KEY_FALSE(name)	extern struct static_key_false name

#define static_key_enabled(x)	(READ_ONCE(((struct static_key *)(x))->enabled) > 0)
#define static_branch_likely(x)	likely(arch_static_branch(&(x)->key, 1))
#define static_branch_unlikely(x)	unlikely(arch_static_branch(&(x)->key, 0))
#define static_branch_maybe(config, x)	static_branch_unlikely(x)
#define static_branch_inc(x)	(((struct static_key *)(x))->enabled++)
#define static_branch_dec(x)	(((struct static_key *)(x))->enabled--)

#endif
