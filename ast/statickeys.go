package ast

import "regexp"

// staticKeyDefRE matches the kernel's definitions of static keys and static
// calls: the DEFINE_ macros of jump_label.h and static_call.h (the MAYBE
// forms name a config symbol first), and the old "struct static_key name =
// STATIC_KEY_INIT..." form.
var (
	staticKeyDefRE    = regexp.MustCompile(`\bDEFINE_STATIC_(KEY|CALL)\w*\s*\(\s*(?:(CONFIG_\w+|IS_ENABLED\s*\(\s*\w+\s*\))\s*,\s*)?([A-Za-z_]\w*)`)
	staticKeyStructRE = regexp.MustCompile(`\bstruct\s+static_key(?:_true|_false)?\s+([A-Za-z_]\w*)\s*=`)
)

// StaticKeyDefinitions returns the names of the static keys and static
// calls src defines (not those it only declares): where a jump label's or
// a static call's key lives decides whether a livepatch may keep the site.
func StaticKeyDefinitions(src []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range staticKeyDefRE.FindAllSubmatch(src, -1) {
		out[string(m[3])] = true
	}
	for _, m := range staticKeyStructRE.FindAllSubmatch(src, -1) {
		out[string(m[1])] = true
	}
	return out
}
