package e2e

import "testing"

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
