package rewrite_test

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/transforms"
)

// TestNotBuiltIsANote: a hazard in a source file the config does not build
// (the hdr tree's drivers/legacy, CONFIG_LEGACY unset), or in a header only
// such files include, is a note: none of its code is in the kernel.
// Without a config (nothing known), the same changes need an engineer.
func TestNotBuiltIsANote(t *testing.T) {
	t.Parallel()
	const diff = `--- a/drivers/legacy/legacy.c
+++ b/drivers/legacy/legacy.c
@@ -5,5 +5,7 @@
 
 u32 legacy_fill(const struct ring *r)
 {
-	return ring_used(r) * 100 / r->size;
+	static u32 calls;
+
+	return ring_used(r) * 100 / r->size + 0 * calls++;
 }
`
	// and a member added to a struct of a header only legacy.c includes
	const hdrDiff = `--- a/drivers/legacy/legacy.h
+++ b/drivers/legacy/legacy.h
@@ -6,6 +6,7 @@
 struct legacy_state {
 	u32 fills;
 	u32 last;
+	u32 resets;
 };
 
 #endif
`
	set, err := patch.Read("legacy.patch", []byte(diff+hdrDiff), patch.Options{Strip: -1})
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
		if err := s.Run(transforms.All()); err != nil {
			t.Fatal(err)
		}
		var found, layout *hazard.Hazard
		for _, e := range s.Entries {
			switch e.Hazard.Kind {
			case hazard.StaticLocal:
				found = e.Hazard
			case hazard.StructLayout:
				layout = e.Hazard
			}
		}
		switch {
		case layout == nil:
			t.Errorf("%s: no struct-layout hazard", tt.name)
		case layout.NeedsHuman() != tt.human:
			t.Errorf("%s: the header's struct change needs an engineer %v, want %v: %s", tt.name, layout.NeedsHuman(), tt.human, layout.Reason)
		case !tt.human && !strings.Contains(layout.Reason, "no file the config builds includes drivers/legacy/legacy.h (its includers drivers/legacy/legacy.c are not built)"):
			t.Errorf("%s: the header's note does not say why: %s", tt.name, layout.Reason)
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

// TestCurrentSourcesLeaveOutNotBuilt: the compiler is never asked about a
// patched source file the config does not build (drivers/legacy without
// CONFIG_LEGACY): it need not compile, and none of its code is in the
// kernel. Without a config nothing is known, and the file stays.
func TestCurrentSourcesLeaveOutNotBuilt(t *testing.T) {
	t.Parallel()
	const diff = `--- a/drivers/legacy/legacy.c
+++ b/drivers/legacy/legacy.c
@@ -5,5 +5,5 @@
 
 u32 legacy_fill(const struct ring *r)
 {
-	return ring_used(r) * 100 / r->size;
+	return ring_used(r) * 100 / (r->size + 1);
 }
--- a/drivers/ringdev/ringstat.c
+++ b/drivers/ringdev/ringstat.c
@@ -10,5 +10,5 @@
 
 void ringstat_show(const struct ring *r)
 {
-	pr_info("ring: size %u\n", r->size);
+	pr_info("ring: size %u.\n", r->size);
 }
`
	set, err := patch.Read("sources.patch", []byte(diff), patch.Options{Strip: -1})
	if err != nil {
		t.Fatal(err)
	}
	dir := rewritetest.TreeDir(t, "hdr")
	for config, want := range map[string]string{
		dir + "/config": "drivers/ringdev/ringstat.c",
		"":              "drivers/legacy/legacy.c drivers/ringdev/ringstat.c",
	} {
		s := rewritetest.Load(t, rewritetest.Env(t, dir, config), set.Patches[0], rewrite.Options{Dialect: "klp"})
		if got := strings.Join(s.CurrentSources(), " "); got != want {
			t.Errorf("config %q: CurrentSources() = %q, want %q", config, got, want)
		}
	}
}
