package lpname

import "testing"

func TestFor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"bond_commit": "bond_commit_lp", "BOND_MAX": "BOND_MAX_LP"} {
		if got := For(in); got != want {
			t.Errorf("For(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnique(t *testing.T) {
	t.Parallel()
	taken := map[string]bool{"f_lp": true, "f_lp2": true, "g": false}
	used := func(s string) bool { return taken[s] }
	if got := Unique("g", used); got != "g" {
		t.Errorf("free name: got %q", got)
	}
	// the second candidate is taken too: the helper re-checks each one
	if got := Unique("f_lp", used); got != "f_lp3" {
		t.Errorf("got %q, want f_lp3", got)
	}
}

func TestOriginal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"bond_commit_link_state_lp":  "bond_commit_link_state",
		"bond_commit_link_state_lp2": "bond_commit_link_state",
		"BOND_MODE_LP":               "BOND_MODE",
		"BOND_MODE_LP3":              "BOND_MODE",
		"ipv4":                       "",
		"_lp":                        "",
		"help":                       "",
	} {
		if got := Original(in); got != want {
			t.Errorf("Original(%q) = %q, want %q", in, got, want)
		}
	}
}
