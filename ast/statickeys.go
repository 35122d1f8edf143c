package ast

import "regexp"

// staticKeyDefRE matches the kernel's definitions of static keys and static
// calls: the DEFINE_ macros of jump_label.h and static_call.h (the MAYBE
// forms name a config symbol first), and the old "struct static_key name =
// STATIC_KEY_INIT..." form.
var (
	staticKeyDefRE    = regexp.MustCompile(`\bDEFINE_STATIC_(KEY|CALL)\w*\s*\(\s*(?:(CONFIG_\w+|IS_ENABLED\s*\(\s*\w+\s*\))\s*,\s*)?([A-Za-z_]\w*)`)
	staticKeyStructRE = regexp.MustCompile(`\bstruct\s+static_key(?:_true|_false)?\s+([A-Za-z_]\w*)\s*=`)
	// an exported static call is the exporter's, however its key is
	// defined (KVM's KVM_X86_OP pastes the names of kvm_x86_*)
	staticCallExportRE = regexp.MustCompile(`\bEXPORT_STATIC_CALL\w*\s*\(\s*([A-Za-z_]\w*)`)
)

// StaticKeyDefinitions returns the names of the static keys and static
// calls src defines (not those it only declares), and of the static calls
// it exports (EXPORT_STATIC_CALL_GPL(kvm_x86_cache_reg)): where a jump label's or
// a static call's key lives decides whether a livepatch may keep the site.
func StaticKeyDefinitions(src []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range staticKeyDefRE.FindAllSubmatch(src, -1) {
		out[string(m[3])] = true
	}
	for _, m := range staticKeyStructRE.FindAllSubmatch(src, -1) {
		out[string(m[1])] = true
	}
	for _, m := range staticCallExportRE.FindAllSubmatch(src, -1) {
		out[string(m[1])] = true
	}
	return out
}
