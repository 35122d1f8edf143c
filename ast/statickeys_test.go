package ast

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStaticKeyDefinitions: the definitions of jump_label.h and
// static_call.h name their key, the config symbol of the MAYBE forms aside;
// a declaration defines nothing.
func TestStaticKeyDefinitions(t *testing.T) {
	src := []byte(`static DEFINE_STATIC_KEY_FALSE(a);
DEFINE_STATIC_KEY_MAYBE_RO(CONFIG_RANDOMIZE_KSTACK_OFFSET_DEFAULT,
			   b);
DEFINE_STATIC_CALL_NULL(c, foo_fn);
struct static_key d = STATIC_KEY_INIT_FALSE;
DECLARE_STATIC_KEY_FALSE(e);
EXPORT_STATIC_CALL_GPL(f);
`)
	want := map[string]bool{"a": true, "b": true, "c": true, "d": true, "f": true}
	if diff := cmp.Diff(want, StaticKeyDefinitions(src)); diff != "" {
		t.Errorf("StaticKeyDefinitions (-want +got):\n%s", diff)
	}
}
