package verify

import (
	"testing"

	"github.com/kprewrite/kprewrite/objdiff"
)

// A function the upstream patch changes that the rewritten build has no
// copy of was inlined by gcc: it is covered when every caller the
// rewritten text has changed, and only then.
func TestInlinedInto(t *testing.T) {
	t.Parallel()
	const src = "net/x.c"
	text := []byte(`static void release(struct e *e)
{
	put(e->dev);
}

void entry_free(struct e *e)
{
	release(e);
	kfree(e);
}

void reinject(struct e *e)
{
	release(e);
}
`)
	fs := builtFuncs{
		rewritten:      map[string]map[string]objdiff.Func{src: {"entry_free": {}, "reinject": {}}},
		rewrittenFiles: map[string][]byte{src: text},
	}
	if got := inlinedInto(fs, []string{src}, "release", map[string]bool{"entry_free": true, "reinject": true}); got != "entry_free, reinject" {
		t.Errorf("both callers changed: got %q", got)
	}
	if got := inlinedInto(fs, []string{src}, "release", map[string]bool{"entry_free": true}); got != "" {
		t.Errorf("a caller unchanged: got %q, want none", got)
	}
	fs.rewritten[src]["release"] = objdiff.Func{}
	if got := inlinedInto(fs, []string{src}, "release", map[string]bool{"entry_free": true, "reinject": true}); got != "" {
		t.Errorf("built out of line (and unchanged): got %q, want none", got)
	}
	delete(fs.rewritten[src], "release")
	if got := inlinedInto(fs, []string{src}, "gone", map[string]bool{"entry_free": true}); got != "" {
		t.Errorf("a function the rewritten text no longer defines: got %q, want none", got)
	}
}
