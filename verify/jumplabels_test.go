package verify

import (
	"strings"
	"testing"
)

// jumpLabelSource is a module's static key with x86's jump label, as
// arch/x86/include/asm/jump_label.h writes it: gcc emits the __jump_table
// entry the builders read.
const jumpLabelSource = `
struct bk_static_key { int enabled; };

static inline __attribute__((__always_inline__)) int bk_branch(struct bk_static_key *key, int branch)
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

static struct bk_static_key bond_fast_key;

struct bk_static_call_key { void *func; };
struct bk_static_call_key __SCK__bond_op;
int __SCT__bond_op(int a);

int bond_call_op(int a)
{
	return __SCT__bond_op(a) + 1;
}

int bond_fast_budget(int budget)
{
	if (bk_branch(&bond_fast_key, 0))
		return budget;
	return budget / 2;
}
`

// A replaced function of a module with a jump label or a static call on
// the module's own key fails the check, as both builders refuse it; a plain read of the key
// passes, and so does a jump label on a key the patch adds (the livepatch
// module carries it) or in vmlinux code.
func TestJumpLabelOnModuleKey(t *testing.T) {
	dir, env := seedCopy(t, "drivers/net/bonding/bond_main.c", jumpLabelSource, "net/core/dev.c", strings.ReplaceAll(jumpLabelSource, "bond_", "dev_"))
	r := run(t, env, edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\treturn budget / 2;\n", "\treturn budget / 4;\n"}), nil, "")
	jc := check(r, "jumplabels")
	if jc.OK || r.OK || !strings.Contains(strings.Join(jc.Details, "\n"), "bond_fast_budget (drivers/net/bonding/bond_main.c) has a jump label on bond_fast_key") {
		t.Errorf("a jump label on a module's key passed: %+v", jc)
	}

	r = run(t, env, edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "__SCT__bond_op(a) + 1;", "__SCT__bond_op(a) + 2;"}), nil, "")
	if jc := check(r, "jumplabels"); jc.OK || !strings.Contains(strings.Join(jc.Details, "\n"), "bond_call_op (drivers/net/bonding/bond_main.c) has a static call on bond_op") {
		t.Errorf("a static call on a module's key passed: %+v", jc)
	}

	up := edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\treturn budget / 2;\n", "\treturn budget / 4;\n"})
	r = run(t, env, edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\tif (bk_branch(&bond_fast_key, 0))\n\t\treturn budget;\n\treturn budget / 2;\n", "\tif (READ_ONCE(bond_fast_key.enabled) > 0)\n\t\treturn budget;\n\treturn budget / 4;\n"}), up, "")
	if jc := check(r, "jumplabels"); !jc.OK || !strings.Contains(strings.Join(jc.Details, "\n"), "the upstream patch's livepatch would be refused by both builders: bonding:bond_fast_budget") {
		t.Errorf("a plain read of the key failed, or the upstream patch's jump label is not noted: %+v", jc)
	}

	r = run(t, env, edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\tif (bk_branch(&bond_fast_key, 0))\n\t\treturn budget;\n\treturn budget / 2;\n", "\tif (bk_branch(&bond_slow_key, 0))\n\t\treturn 1;\n\treturn budget / 4;\n"},
		[3]string{"drivers/net/bonding/bond_main.c", "static struct bk_static_key bond_fast_key;\n", "static struct bk_static_key bond_fast_key;\nstatic struct bk_static_key bond_slow_key;\n"}), nil, "")
	if jc := check(r, "jumplabels"); !jc.OK || !strings.Contains(jc.Summary, "1 in module code checked") {
		t.Errorf("a jump label on a key the patch adds failed: %+v", jc)
	}

	r = run(t, env, edit(t, dir, [3]string{"net/core/dev.c", "\treturn budget / 2;\n", "\treturn budget / 4;\n"}), nil, "")
	if jc := check(r, "jumplabels"); !jc.OK {
		t.Errorf("a jump label in vmlinux failed: %+v", jc)
	}
}

// A jump label on a key another module defines (found by the tree's scan
// for static key definitions) fails too; one on a key vmlinux defines
// passes.
func TestJumpLabelOnOtherObjectsKey(t *testing.T) {
	keyType := "struct bk_static_key { int enabled; };\n#define DEFINE_STATIC_KEY_FALSE(name) struct bk_static_key name\n"
	user := strings.Replace(jumpLabelSource, "static struct bk_static_key bond_fast_key;", "extern struct bk_static_key lag_key, dev_key;", 1)
	user = strings.Replace(user, "\treturn budget / 2;\n", "\tif (bk_branch(&dev_key, 0))\n\t\treturn 1;\n\treturn budget / 2;\n", 1)
	user = strings.Replace(user, "bk_branch(&bond_fast_key, 0)", "bk_branch(&lag_key, 0)", 1)
	dir, env := seedCopy(t, "drivers/net/bonding/bond_main.c", user,
		"drivers/net/lagmon/lagmon.c", "\n"+keyType+"DEFINE_STATIC_KEY_FALSE(lag_key);\n",
		"net/core/dev.c", "\n"+keyType+"DEFINE_STATIC_KEY_FALSE(dev_key);\n")
	r := run(t, env, edit(t, dir, [3]string{"drivers/net/bonding/bond_main.c", "\treturn budget / 2;\n", "\treturn budget / 4;\n"}), nil, "")
	jc := check(r, "jumplabels")
	details := strings.Join(jc.Details, "\n")
	if jc.OK || !strings.Contains(details, "has a jump label on lag_key, which module lagmon (drivers/net/lagmon/lagmon.c) defines") {
		t.Errorf("a jump label on another module's key passed: %+v", jc)
	}
	if strings.Contains(details, "dev_key") {
		t.Errorf("a jump label on vmlinux's key is reported: %+v", jc)
	}
}
