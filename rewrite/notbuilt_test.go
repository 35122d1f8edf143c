package rewrite_test

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
)

// TestNotBuiltIsANote: a hazard in a source file the config does not build
// (the hdr tree's drivers/legacy, CONFIG_LEGACY unset) is a note: none of
// its code is in the kernel. With the file built, the same change needs an
// engineer.
func TestNotBuiltIsANote(t *testing.T) {
	t.Parallel()
	const diff = `--- a/drivers/legacy/legacy.c
+++ b/drivers/legacy/legacy.c
@@ -4,5 +4,7 @@
 
 u32 legacy_fill(const struct ring *r)
 {
-	return ring_used(r) * 100 / r->size;
+	static u32 calls;
+
+	return ring_used(r) * 100 / r->size + 0 * calls++;
 }
`
	set, err := patch.Read("legacy.patch", []byte(diff), patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	dir := rewritetest.TreeDir(t, "hdr")
	for _, tt := range []struct {
		name, config string
		human        bool
	}{
		{"not built", dir + "/config", false},
		{"no config", "", true},
	} {
		env := rewritetest.Env(t, dir, tt.config)
		s := rewritetest.Load(t, env, set.Patches[0], rewrite.Options{Dialect: "klp"})
		var found *hazard.Hazard
		for _, e := range s.Entries {
			if e.Hazard.Kind == hazard.StaticLocal {
				found = e.Hazard
			}
		}
		switch {
		case found == nil:
			t.Errorf("%s: no static-local hazard", tt.name)
		case found.NeedsHuman() != tt.human:
			t.Errorf("%s: needs an engineer %v, want %v: %s", tt.name, found.NeedsHuman(), tt.human, found.Reason)
		case !tt.human && !strings.Contains(found.Reason, "the config does not build drivers/legacy/legacy.c"):
			t.Errorf("%s: the note does not say why: %s", tt.name, found.Reason)
		}
	}
}
