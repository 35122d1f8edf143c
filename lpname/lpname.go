// Package lpname is the naming rule for what kprewrite generates, shared by
// the rewriter and verify (which must not import the rewriter): a moved
// header definition is renamed with Suffix, and any generated name that
// already names something gets a number until it is unique.
package lpname

import (
	"strconv"
	"strings"
)

// Suffix is appended to the name of a moved header definition
// ("bond_commit_link_state_lp"); macros get it in upper case.
const Suffix = "_lp"

// For returns the renamed copy of a moved definition: name with Suffix, in
// upper case for an upper-case (macro) name.
func For(name string) string {
	if name == strings.ToUpper(name) {
		return name + strings.ToUpper(Suffix)
	}
	return name + Suffix
}

// Unique returns name when used says it is free, else name2, name3, ...:
// the first that is free.
func Unique(name string, used func(string) bool) string {
	if !used(name) {
		return name
	}
	for n := 2; ; n++ {
		if c := name + strconv.Itoa(n); !used(c) {
			return c
		}
	}
}

// Original returns the header definition a renamed copy stands for
// ("bond_commit_link_state" for "bond_commit_link_state_lp" or
// "bond_commit_link_state_lp2"), or "" when name is not a renamed copy.
func Original(name string) string {
	base := strings.TrimRight(name, "0123456789")
	if base != name && !strings.HasSuffix(base, Suffix) && !strings.HasSuffix(base, strings.ToUpper(Suffix)) {
		base = name // a number that belongs to the name itself
	}
	for _, suf := range []string{Suffix, strings.ToUpper(Suffix)} {
		if strings.HasSuffix(base, suf) && len(base) > len(suf) {
			return strings.TrimSuffix(base, suf)
		}
	}
	return ""
}
