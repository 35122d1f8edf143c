package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/internal/realcases"
	"github.com/kprewrite/kprewrite/internal/realkernel"
)

// TestRealCases runs every real-tree case through "kprewrite rewrite
// --verify" on Debian's linux-source with the minimal livepatch config:
// the rewrite must resolve every hazard with the expected transforms,
// change no header, and be proven by verify (it applies, compiles with
// kbuild's flags, keeps every layout, covers the upstream patch's
// functions, adds no checkpatch error).
func TestRealCases(t *testing.T) {
	src, build := realkernel.Tree(t)
	cfg := filepath.Join(build, ".config")
	checks := map[string][]string{
		"bitfield":        {"exactly where the upstream compiler puts the member"},
		"header2c":        {"every function the upstream patch changes is changed by the rewritten patch"},
		"structext":       {"struct netdev_notifier_change_info (include/linux/netdevice.h): identical in the rewritten build"},
		"hole":            {"struct slave (include/net/bonding.h): identical in the rewritten build"},
		"keep":            {"struct slave (include/net/bonding.h): identical in the rewritten build"},
		"flagback":        {"struct packet_sock (net/packet/internal.h): identical in the rewritten build", "left as the running kernel's where the rewritten source is upstream's but for calls of its own accessors"},
		"bitfield-middle": {"struct slave (include/net/bonding.h): identical in the rewritten build"},
		"lock":            {"struct slave (include/net/bonding.h): identical in the rewritten build"},
		"inetpeer":        {"struct inet_peer (include/net/inetpeer.h): identical in the rewritten build", "kpatch glue compiled against kpatch's own kmod/patch headers"},
		"inline":          {"every function the upstream patch changes is changed by the rewritten patch"},
		"widen":           {"struct bond_up_slave (include/net/bonding.h): identical in the rewritten build"},
		"value-first":     {"struct port (include/net/bond_3ad.h): identical in the rewritten build"},
		"counter":         {"struct packet_sock (net/packet/internal.h): identical in the rewritten build", "2 functions changed in 1 object; every function the upstream patch changes is changed by the rewritten patch"},
		"syscall":         {"every function the upstream patch changes is changed by the rewritten patch", "kpatch glue compiled against kpatch's own kmod/patch headers"},
		"statickey": {"no function the livepatch carries has a jump label or static call on a module's key",
			"the upstream patch's livepatch would be refused by both builders: bonding:bond_start_xmit has a jump label"},
		"seed": {"exactly where the upstream compiler puts the member", "struct netdev_notifier_change_info (include/linux/netdevice.h): identical in the rewritten build",
			// what the end-to-end proof sees klp-build's livepatch of the upstream patch fail on
			"the upstream patch changes bonding:bond_commit_link_state, which has no ftrace entry", "every changed function has an ftrace entry"},
	}
	// Debian's 6.1 has no klp-build: --dialect auto chooses kpatch
	outputs := map[string][]string{
		"flagback": {"+\treturn READ_ONCE(s->pressure);", "+\t\tpacket_sock_set_pressure(po, 0);"},
		// a lock in a static table: no allocation, the upstream spin_lock_init a call of
		// the table's empty init function
		"lock": {"\t\t__SPIN_LOCK_UNLOCKED(slave_fold_lock_table),", "+\t\tspin_lock(slave_fold_lock_ptr(slave));", "+\t\tspin_unlock(slave_fold_lock_ptr(slave));", "slave_fold_lock_init(slave);"},
		// peers created before the load compute the hash their creation gave them
		"inetpeer": {"return v ? *v : (jhash2(s->daddr.key, ARRAY_SIZE(s->daddr.key), s->daddr.family));", "klp_shadow_free(container_of(head, struct inet_peer, rcu), INET_PEER_HASH_SHADOW_ID, NULL);"},
		// slaves enslaved before the load read what the running kernel's code read, with the type proven
		// the headless form frees the entry after the same grace period
		"module-use-rcu": {"+\t\tkfree_rcu_mightsleep(use);"},
		"slave-wq":       {"BUILD_BUG_ON(!__same_type(s->bond->wq, *v));", "return v ? *v : (s->bond->wq);"},
		"statickey":      {"+\tif (!static_key_enabled(&bond_bcast_neigh_enabled))"},
		// read by value, written first: the getter allocates nothing
		"value-first": {"+\treturn port_get_last_partner(port).key != port->partner_oper.key;", "+\t\t\tport_set_last_partner(port, port->partner_oper, GFP_ATOMIC);"},
		"widen":       {"+static_assert(offsetof(struct bond_up_slave, count) % __alignof__(unsigned long) == 0);"},
		"counter":     {"+\tatomic_cmpxchg((atomic_t *)&po->pressure, !pressure, pressure);", "+\t\tatomic_set((atomic_t *)&po->pressure, 0);"},
		"syscall":     {"+KPATCH_SYSCALL_DEFINE2(sethostname, char __user *, name, int, len)", "+#include \"kpatch-syscall.h\""},
	}
	for _, c := range realcases.All {
		t.Run(c.Name, func(t *testing.T) {
			work := t.TempDir()
			if keep := os.Getenv("KPREWRITE_KEEP"); keep != "" { // inspect a case: its patches, report and verify output
				work = filepath.Join(keep, c.Name)
				os.RemoveAll(work)
				os.MkdirAll(work, 0o755)
			}
			m, err := c.Materialize(src, work)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(work, "rewritten.patch")
			rep := filepath.Join(work, "report.txt")
			code, vout, verrs := kp(t, "rewrite", "--verify", "--tree", m.Tree, "--config", cfg, "-o", out, "--report", rep, m.Patch)
			os.WriteFile(filepath.Join(work, "verify.txt"), []byte(vout+verrs), 0o644)
			report := readFile(t, rep)
			for _, want := range c.Reports {
				if !strings.Contains(report, want) {
					t.Errorf("the report lacks %q:\n%s", want, report)
				}
			}
			if len(c.Refuses) > 0 { // left to an engineer: exit 1, nothing proven
				if code != exitNeedsHuman {
					t.Fatalf("exit %d, want %d\n%s", code, exitNeedsHuman, report)
				}
				for subj, want := range c.Refuses {
					if !strings.Contains(report, subj) || !strings.Contains(report, want) {
						t.Errorf("the report does not leave %s to an engineer with %q:\n%s", subj, want, report)
					}
				}
				return
			}
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s\n%s", code, report, vout, verrs)
			}
			for _, tr := range c.Resolves {
				if !strings.Contains(report, "rewritten by "+tr) {
					t.Errorf("no hazard rewritten by %s:\n%s", tr, report)
				}
			}
			if !strings.Contains(vout, "PROVEN") {
				t.Errorf("verify did not prove it:\n%s", vout)
			}
			for _, want := range checks[c.Name] {
				if !strings.Contains(vout, want) {
					t.Errorf("verify output lacks %q:\n%s", want, vout)
				}
			}
			text := readFile(t, out)
			if c.Name == "lock" && regexp.MustCompile(`(?m)^\+\s*spin_lock_init\(`).MatchString(text) {
				t.Errorf("the rewritten patch initialises a table lock")
			}
			if strings.Contains(text, "+++ b/include/") {
				t.Errorf("the rewritten patch changes a header")
			}
			for _, want := range outputs[c.Name] {
				if !strings.Contains(text, want) {
					t.Errorf("the rewritten patch lacks %q", want)
				}
			}
		})
	}
}
