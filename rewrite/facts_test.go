package rewrite

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLayoutCandidates: the layout of a struct is asked of the patch's
// own files first, then of the header's neighbours: a textual includer
// list names every types.h of the tree for an <types.h> under some -I,
// and a file that does not include the header has no layout of it.
func TestLayoutCandidates(t *testing.T) {
	s := &Session{Upstream: map[string][]byte{"net/batman-adv/bridge_loop_avoidance.c": []byte("x")}}
	users := []string{
		"drivers/net/wireless/broadcom/brcm80211/brcmsmac/debug.c",
		"net/batman-adv/bat_algo.c",
		"net/batman-adv/bridge_loop_avoidance.c",
		"net/ceph/crush/hash.c",
	}
	got := layoutCandidates(s, "net/batman-adv/types.h", users)
	want := []string{
		"net/batman-adv/bridge_loop_avoidance.c",
		"net/batman-adv/bat_algo.c",
		"net/ceph/crush/hash.c",
		"drivers/net/wireless/broadcom/brcm80211/brcmsmac/debug.c",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
