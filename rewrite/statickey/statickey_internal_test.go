package statickey

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
)

// TestSites: every site-making macro is found with the argument that names
// its key, and becomes its plain form.
func TestSites(t *testing.T) {
	src := `int f(int a)
{
	if (static_branch_maybe(CONFIG_FOO_DEFAULT, &foo_key))
		a++;
	if (static_key_false(&old_key) || static_branch_likely(&(s->key)))
		a--;
	return static_call(foo_op)(a, a + 1);
}
`
	f := ast.Parse("f.c", []byte(src))
	fn := f.Func("f")
	var got []string
	for macro := range keyArg {
		for _, s := range findSites(f, fn, macro) {
			got = append(got, src[s.call.Off:s.call.End]+" -> "+replacement(s, "")+" key="+keyName(s))
		}
	}
	want := []string{
		"static_branch_maybe(CONFIG_FOO_DEFAULT, &foo_key) -> static_key_enabled(&foo_key) key=foo_key",
		"static_key_false(&old_key) -> static_key_enabled(&old_key) key=old_key",
		"static_branch_likely(&(s->key)) -> static_key_enabled(&(s->key)) key=",
		"static_call(foo_op) -> ((typeof(STATIC_CALL_TRAMP(foo_op)) *)STATIC_CALL_KEY(foo_op).func) key=foo_op",
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}
}
