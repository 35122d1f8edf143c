// Package e2e is kprewrite's end-to-end proof: upstream patch -> kprewrite
// -> the kernel's own livepatch builder (scripts/livepatch/klp-build) ->
// the livepatch loaded in a QEMU virtual machine over objects that existed
// before it, with the same behaviour as a kernel built with the upstream
// patch. Its test runs with KPREWRITE_E2E=1 (scripts/test.sh sets it).
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Boot is one virtual machine run.
type Boot struct {
	Kernel    string   // bzImage
	Modules   []string // .ko files available in /mods
	Livepatch string   // livepatch .ko to load after the setup, "" for none
	Script    string   // the case's commands (busybox sh), after setup and livepatch
	Setup     string   // commands before the livepatch loads (objects that exist before it)
	// LeakCheck runs the leak check after the script (see leakScript):
	// Teardown, then every livepatch disabled, then the live klp shadow
	// variables counted and kmemleak's report read, into Result.Leaks.
	// Without it the machine boots with kmemleak=off.
	LeakCheck bool
	Teardown  string // commands before the livepatches are disabled (release objects created under them)
}

// Result is what a run printed.
type Result struct {
	Checks     []string // "KPREWRITE-CHECK: ..." lines, the behaviour
	Enabled    string   // /sys/kernel/livepatch/*/enabled after loading
	Transition string   // and transition
	LoadError  string
	Console    string
	Seconds    float64
	Leaks      *Leaks // what the leak check found, nil without Boot.LeakCheck
}

var checkRE = regexp.MustCompile(`(?m)^KPREWRITE-CHECK: (.*?)\r?$`)

const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
check() { echo "KPREWRITE-CHECK: $*"; }
insmod /mods/dummy.ko numdummies=2
insmod /mods/bonding.ko max_bonds=1 miimon=100
ip link set bond0 up
%s
if [ -f /livepatch.ko ]; then
	if insmod /livepatch.ko; then
		lp=$(ls /sys/kernel/livepatch | head -n1)
		i=0
		while [ "$(cat /sys/kernel/livepatch/$lp/transition)" != 0 ] && [ $i -lt 60 ]; do
			sleep 1; i=$((i+1))
		done
		echo "KPREWRITE-LP: enabled=$(cat /sys/kernel/livepatch/$lp/enabled) transition=$(cat /sys/kernel/livepatch/$lp/transition)"
	else
		echo "KPREWRITE-LP: load failed"
	fi
fi
%s
%s
echo KPREWRITE-DONE
sync
reboot -f
`

// Run boots the machine and returns what the case printed.
func (b *Boot) Run(ctx context.Context, work string) (*Result, error) {
	root := filepath.Join(work, "initramfs")
	os.RemoveAll(root)
	for _, d := range []string{"bin", "proc", "sys", "dev", "mods"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := copyFile("/bin/busybox", filepath.Join(root, "bin", "busybox"), 0o755); err != nil {
		return nil, fmt.Errorf("busybox-static: %v", err)
	}
	for _, m := range b.Modules {
		if err := copyFile(m, filepath.Join(root, "mods", filepath.Base(m)), 0o644); err != nil {
			return nil, err
		}
	}
	if b.Livepatch != "" {
		if err := copyFile(b.Livepatch, filepath.Join(root, "livepatch.ko"), 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(fmt.Sprintf(initScript, b.Setup, b.Script, b.leakSection())), 0o755); err != nil {
		return nil, err
	}
	img := filepath.Join(work, "initramfs.cpio.gz")
	pack := exec.Command("sh", "-c", "find . | cpio -o -H newc --quiet | gzip -1 > "+img)
	pack.Dir = root
	if out, err := pack.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cpio: %v: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	start := time.Now()
	cmdline := "console=ttyS0 slub_debug=FZPU panic=-1 loglevel=6"
	if !b.LeakCheck {
		cmdline += " kmemleak=off"
	}
	q := exec.CommandContext(ctx, "qemu-system-x86_64", "-kernel", b.Kernel, "-initrd", img,
		"-append", cmdline,
		"-nographic", "-no-reboot", "-m", "512", "-smp", "1", "-monitor", "none")
	out, err := q.CombinedOutput()
	r := &Result{Console: string(out), Seconds: time.Since(start).Seconds()}
	if !strings.Contains(r.Console, "KPREWRITE-DONE") {
		return r, fmt.Errorf("the machine did not finish the script (%v); console tail:\n%s", err, tail(r.Console, 25))
	}
	for _, m := range checkRE.FindAllStringSubmatch(r.Console, -1) {
		r.Checks = append(r.Checks, strings.TrimSpace(m[1]))
	}
	if m := regexp.MustCompile(`KPREWRITE-LP: (.*)`).FindStringSubmatch(r.Console); m != nil {
		s := strings.TrimSpace(m[1])
		if strings.HasPrefix(s, "load failed") {
			r.LoadError = s + ": " + loadFailure(r.Console)
		} else {
			fmt.Sscanf(s, "enabled=%s transition=%s", &r.Enabled, &r.Transition)
		}
	}
	if b.LeakCheck {
		if r.Leaks, err = parseLeaks(r.Console); err != nil {
			return r, fmt.Errorf("leak check: %v; console tail:\n%s", err, tail(r.Console, 25))
		}
	}
	return r, nil
}

// loadFailure is insmod's complaint with the kernel's first livepatch
// error, which names the cause (a symbol not found, a function with no
// ftrace location, ...).
func loadFailure(console string) string {
	var insmod, cause string
	for _, l := range strings.Split(console, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "insmod:") {
			insmod = l
		}
		// the kernel's first complaint names the cause
		if i := strings.Index(l, "livepatch: failed"); i >= 0 && cause == "" {
			cause = l[i:]
		}
	}
	if cause != "" {
		return insmod + " (" + cause + ")"
	}
	return insmod
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// timesShown enslaves a second slave under the livepatch, shows
// /proc/net/bonding/bond0 twice and prints each slave's count: dummy0 was
// enslaved before the livepatch loaded, dummy1 after.
const timesShown = `echo +dummy1 > /sys/class/net/bond0/bonding/slaves
cat /proc/net/bonding/bond0 >/dev/null
grep "Times shown" /proc/net/bonding/bond0 | while read l; do check "$l"; done
grep -q "Times shown" /proc/net/bonding/bond0 || check "not shown"`

// Behaviour is the script of each case: what it does after the livepatch
// loads, and the checks it prints. Objects that exist before the
// livepatch are created in the common setup (bond0 with dummy0 enslaved).
// Teardown, when set, replaces TestEndToEnd's release of the late slaves
// before the leak check; Quiet, when set, is console text that must not
// follow the livepatch's unpatching (the leak check disables it).
var Behaviour = map[string]struct{ Setup, Script, Teardown, Quiet string }{
	"hole": {Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves", Script: timesShown},
	// The first step of the "shown" series: the same count, kept in a
	// shadow variable.
	"shown": {Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves", Script: timesShown},
	"inline": {
		Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `grep "Transmit Hash Policy" /proc/net/bonding/bond0 | while read l; do check "$l"; done
grep -q "Transmit Hash Policy" /proc/net/bonding/bond0 || check "no transmit hash policy"`,
	},
	"seed": {
		Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `ip link set dummy0 down; sleep 1; ip link set dummy0 up; sleep 1
ip link set dummy0 arp off
echo +dummy1 > /sys/class/net/bond0/bonding/slaves
sleep 1
grep "Link committed" /proc/net/bonding/bond0 | while read l; do check "$l"; done
grep -q "Link committed" /proc/net/bonding/bond0 || check "no link committed"
dmesg | grep -o "dummy0: flags 0x[0-9a-f]* -> 0x[0-9a-f]*" | grep -v "flags 0x0 " | while read l; do check "$l"; done`,
	},
	"shadow": {
		Setup: "",
		Script: `grep -q newpid /proc/1/status && check "init has newpid" || check "init has no newpid"
a=$(grep newpid /proc/self/status | awk '{print $2}')
b=$(grep newpid /proc/self/status | awk '{print $2}')
[ -n "$a" ] && [ -n "$b" ] && check "consecutive processes: newpid step $((b - a))" || check "no newpid"`,
	},
	// The lock taken where bond_enslave() reads a new slave's statistics
	// (dummy1) and where bond_get_stats() folds every slave's, dummy0's
	// included (enslaved before the load): two reads of the bond's
	// statistics fold each slave twice.
	"lock": {
		Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `echo +dummy1 > /sys/class/net/bond0/bonding/slaves
sleep 2
grep -q "Stats folds" /proc/net/bonding/bond0 || check "no stats folds"
before=$(grep "Stats folds" /proc/net/bonding/bond0 | awk '{print $3}')
cat /sys/class/net/bond0/statistics/rx_packets /sys/class/net/bond0/statistics/tx_packets >/dev/null
set -- $(grep "Stats folds" /proc/net/bonding/bond0 | awk '{print $3}')
for b in $before; do check "stats folds step $(($1 - b))"; shift; done`,
	},
	// dummy0 was enslaved before the load: it must show the index an
	// upstream-built kernel gave it at creation, not 0.
	"slave-ifindex": {
		Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `echo +dummy1 > /sys/class/net/bond0/bonding/slaves
grep "Enslaved ifindex" /proc/net/bonding/bond0 | while read l; do check "$l"; done
grep -q "Enslaved ifindex" /proc/net/bonding/bond0 || check "no enslaved ifindex"`,
	},
	// dummy1's enslave under the livepatch queues bond0's work (bond0 was
	// opened before the load: the shadow's constructor initialises it),
	// which prints the slave count ten seconds later. The teardown
	// enslaves dummy1 again just before the leak check disables the
	// livepatch (six seconds later, unpatched within a second): the work
	// is pending then, and the post-unpatch callback must cancel it before
	// it frees the shadow: left pending, it would run (and print, at
	// notice level, on the console) four seconds after the unpatching,
	// from a shadow about to be freed, in a module free to go.
	"work": {
		Setup: "echo +dummy0 > /sys/class/net/bond0/bonding/slaves",
		Script: `echo +dummy1 > /sys/class/net/bond0/bonding/slaves
sleep 12
check "slave count notes: $(dmesg | grep -c 'now has 2 slaves')"`,
		Teardown: `echo -dummy1 > /sys/class/net/bond0/bonding/slaves
echo +dummy1 > /sys/class/net/bond0/bonding/slaves`,
		Quiet: "now has 2 slaves",
	},
	"syscall": {
		Setup: "",
		Script: `hostname '' 2>/dev/null && check "empty hostname accepted" || check "empty hostname refused"
hostname kprewrite && check "hostname $(hostname)" || check "hostname refused"`,
	},
}
