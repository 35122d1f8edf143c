package e2e

import (
	"strings"
	"testing"
)

func TestLoadFailureNamesTheCause(t *testing.T) {
	console := `[    3.99] livepatch: enabling patch 'livepatch_up_seed'
[    4.00] livepatch: failed to find location for function 'bond_commit_link_state'
[    4.01] livepatch: failed to patch object 'bonding'
insmod: can't insert '/livepatch.ko': Invalid argument
`
	got := loadFailure(console)
	want := "insmod: can't insert '/livepatch.ko': Invalid argument (livepatch: failed to find location for function 'bond_commit_link_state')"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestUpstreamVerdict(t *testing.T) {
	verify := `kprewrite verify: PROVEN: the patch is safe to hand to a livepatch builder

  [ok  ] layout    54 structs/unions compared in DWARF: 54 identical
                   the upstream patch would change struct slave: size 600 -> 608; enslave_seq new at 600 (4 bytes)
  [ok  ] ftrace    every changed function has an ftrace entry (9 checked)
                   the upstream patch changes bonding:bond_commit_link_state, which has no ftrace entry: a livepatch built from it fails to load

Layouts (DWARF, base -> patched):
  struct slave (include/net/bonding.h): identical in the rewritten build
      the upstream patch would change: size 600 -> 608; enslave_seq new at 600 (4 bytes)
`
	want := "struct slave: size 600 -> 608; enslave_seq new at 600 (4 bytes); " +
		"changes bonding:bond_commit_link_state, which has no ftrace entry (its livepatch cannot load)"
	if got := upstreamVerdict(verify); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// klp-build's own line about a failed step may come before objtool's in
// its log: the message shown is objtool's.
func TestLastMeaningful(t *testing.T) {
	log := "building\nerror: klp-build: objtool klp diff failed\nerror: klp-build: line 738: '( cd ... )'\n" +
		"drivers/net/bonding/bonding.o: error: objtool: bond_start_xmit+0x115: unsupported static branch key bond_bcast_neigh_enabled.\n"
	if got := lastMeaningful(log); !strings.Contains(got, "unsupported static branch key") {
		t.Errorf("got %q", got)
	}
	if got := lastMeaningful("x\nerror: klp-build: objtool klp diff failed\n"); got != "error: klp-build: objtool klp diff failed" {
		t.Errorf("without objtool's line, klp-build's: got %q", got)
	}
}
