package rcuhead

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
)

func TestTakesOnlyRCUHeads(t *testing.T) {
	tests := []struct {
		m    ast.Member
		want bool
	}{
		{ast.Member{Name: "rcu", Type: "struct rcu_head"}, true},
		{ast.Member{Name: "rcu", Type: "struct  callback_head"}, true},
		{ast.Member{Name: "rcu", Type: "struct rcu_head *"}, false},
		{ast.Member{Name: "rcu", Type: "struct rcu_head", Array: []string{"2"}}, false},
		{ast.Member{Name: "work", Type: "struct work_struct"}, false},
		{ast.Member{Name: "n", Type: "int", Bits: "1"}, false},
	}
	for _, tt := range tests {
		m := tt.m
		if got := Transform.Member.Takes(&change.Change{PostMember: &m}); got != tt.want {
			t.Errorf("Takes(%s %s%v) = %v, want %v", m.Type, m.Name, m.Array, got, tt.want)
		}
	}
}

func TestCallArgs(t *testing.T) {
	tests := []struct {
		src  string
		name string
		args []string
		call string // the text the call spans
	}{
		{"void f(void) { kfree_rcu(p, rcu); }", "kfree_rcu", []string{"p", "rcu"}, "kfree_rcu(p, rcu)"},
		{"void f(void) { kfree_rcu(a->b[i], head); }", "kfree_rcu", []string{"a->b[i]", "head"}, "kfree_rcu(a->b[i], head)"},
		{"void f(void) { kfree_rcu(get(x, y), /* why */ rcu); }", "kfree_rcu", []string{"get(x, y)", "rcu"}, "kfree_rcu(get(x, y), /* why */ rcu)"},
		{"void f(void) { kvfree_rcu(p); }", "kvfree_rcu", []string{"p"}, "kvfree_rcu(p)"},
		{"void f(void) { kfree_rcu; }", "kfree_rcu", nil, ""},
		{"void f(void) { kfree_rcu(p, rcu", "kfree_rcu", nil, ""},
	}
	for _, tt := range tests {
		f := ast.Parse("x.c", []byte(tt.src))
		off := strings.Index(tt.src, tt.name)
		args, end, ok := callArgs(f, off, tt.name)
		if diff := cmp.Diff(tt.args, args); diff != "" {
			t.Errorf("%s: args (-want +got):\n%s", tt.src, diff)
		}
		got := ""
		if ok {
			got = tt.src[off:end]
		}
		if got != tt.call {
			t.Errorf("%s: call %q, want %q", tt.src, got, tt.call)
		}
	}
}

// FuzzCallArgs: any text: arguments or false, never a panic, and a call
// that is read ends inside the text.
func FuzzCallArgs(f *testing.F) {
	f.Add("kfree_rcu(a->b[i], head);")
	f.Add("kfree_rcu(get(x, (y), [z]), rcu")
	f.Add("kfree_rcu((p, rcu);")
	f.Fuzz(func(t *testing.T, src string) {
		file := ast.Parse("x.c", []byte(src))
		off := strings.Index(src, "kfree_rcu")
		if off < 0 {
			return
		}
		if _, end, ok := callArgs(file, off, "kfree_rcu"); ok && (end <= off || end > len(src)) {
			t.Errorf("call at %d ends at %d of %d", off, end, len(src))
		}
	})
}
