package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kprewrite/kprewrite/internal/realcases"
)

// TestStaticKeyBuilders: the builders' rule on jump labels, on the real
// kernel. The "statickey" case changes bond_should_broadcast_neighbor(),
// which tests the bonding module's own key bond_bcast_neigh_enabled and
// which gcc inlines into bond_start_xmit. klp-build refuses the upstream
// patch ("unsupported static branch key"); kprewrite's rewrite reads the
// key with static_key_enabled(), verify proves it, klp-build builds it, and
// the livepatch loads, finishes its transition and carries bond0's
// traffic: packets sent through bond0 after the load go through the
// livepatch's bond_start_xmit. Unlike TestEndToEnd there is no behaviour to
// compare with an upstream-built kernel: the patched lines run only with
// the broadcast_neighbor option on, which only netlink sets, and the
// machine's busybox ip cannot.
func TestStaticKeyBuilders(t *testing.T) {
	e := klpSetup(t)
	work := filepath.Join(e.cache, "last-run-statickey")
	kp := freshWork(t, work)
	c := realcases.ByName("statickey")
	m, err := c.Materialize(e.src, work)
	if err != nil {
		t.Fatal(err)
	}
	restore(t, e.tree, e.src, m.Files)
	defer restore(t, e.tree, e.src, m.Files)

	rw := filepath.Join(work, "rewritten.patch")
	out, err := exec.Command(kp, "rewrite", "--verify", "--tree", e.tree, "-o", rw, "--report", filepath.Join(work, "report.txt"), m.Patch).CombinedOutput()
	os.WriteFile(filepath.Join(work, "verify.txt"), out, 0o644)
	if err != nil {
		t.Fatalf("kprewrite rewrite --verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "the upstream patch's livepatch would be refused by both builders") {
		t.Errorf("verify does not say the builders refuse the upstream patch:\n%s", out)
	}

	upKO, upMsg := klpBuild(t, e.tree, e.cache, m.Patch, filepath.Join(work, "livepatch-up.ko"))
	t.Logf("klp-build, upstream patch: %s", upMsg)
	if upKO != "" || !strings.Contains(upMsg, "static branch key") {
		t.Errorf("klp-build did not refuse the upstream patch for its jump label: %s", upMsg)
	}
	rwKO, rwMsg := klpBuild(t, e.tree, e.cache, rw, filepath.Join(work, "livepatch-kp.ko"))
	t.Logf("klp-build, rewritten patch: %s", rwMsg)
	if rwKO == "" {
		t.Fatalf("klp-build refused the rewritten patch: %s", rwMsg)
	}

	stamp := func(what string, start time.Time) { t.Logf("%s: %.0fs", what, time.Since(start).Seconds()) }
	res := bootIn(t, context.Background(), work, stamp)("livepatched", &Boot{
		Kernel:    filepath.Join(e.boot, "bzImage"),
		Modules:   []string{filepath.Join(e.boot, "bonding.ko"), filepath.Join(e.boot, "dummy.ko")},
		Livepatch: rwKO,
		Setup:     "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `before=$(cat /sys/class/net/bond0/statistics/tx_packets)
ip addr add 10.0.0.1/24 dev bond0
ping -c 3 10.0.0.2 >/dev/null 2>&1 &
sleep 3
kill $! 2>/dev/null
check "sent $(($(cat /sys/class/net/bond0/statistics/tx_packets) - before))"`,
	})
	switch {
	case res.LoadError != "":
		t.Fatalf("the rewritten livepatch did not load: %s\n%s", res.LoadError, tail(res.Console, 30))
	case res.Enabled != "1" || res.Transition != "0":
		t.Fatalf("livepatch enabled=%s transition=%s", res.Enabled, res.Transition)
	}
	sent := -1
	if len(res.Checks) == 1 {
		sent, _ = strconv.Atoi(strings.TrimPrefix(res.Checks[0], "sent "))
	}
	if sent <= 0 {
		t.Errorf("bond0 sent nothing through the livepatch's bond_start_xmit: %q\n%s", res.Checks, tail(res.Console, 30))
	}
	t.Logf("bond0 sent %d packets through the livepatch's bond_start_xmit", sent)
}
