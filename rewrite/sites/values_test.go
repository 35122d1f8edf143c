package sites_test

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// creationValue loads a patch of the conn tree and asks what upstream
// creation gives member of struct tag.
func creationValue(t *testing.T, patch, tag, member string) sites.Value {
	t.Helper()
	env := rewritetest.Env(t, conn, conn+"/config")
	s := rewritetest.Load(t, env, rewritetest.ReadPatch(t, patch), rewrite.Options{Dialect: "klp"})
	var v sites.Value
	probe := &rewrite.Transform{Name: "probe", Requires: []rewrite.Requirement{sites.Creation}, Run: func(p *rewrite.Pass) error {
		v = sites.CreationValue(p, "include/linux/conn.h", tag, member)
		return nil
	}}
	if err := s.Run([]*rewrite.Transform{probe}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCreationValue: zero when the object is kzalloc'd and nothing assigns
// the member; the assigned expression, over the object as "s", when it
// reads only the object's fields, constants and pure functions; not known,
// naming the site and what it reads, otherwise.
func TestCreationValue(t *testing.T) {
	t.Parallel()
	shadow := "../shadow/testdata/"
	tests := []struct {
		name, patch, tag, member string
		zero                     bool
		expr                     string
		evidence                 string
	}{
		{"zeroed", conn + "/patches/01-hole-bool.patch", "conn", "closing", true, "",
			"every object starts zeroed and nothing on its creation path assigns closing: net/conn/conn_core.c:14 heap in conn_create (kzalloc)"},
		{"expression", shadow + "creation-expr/input.patch", "conn", "port_hash", false, "hash_32(s->port, 16)",
			"port_hash = hash_32(c->port, 16) at net/conn/conn_core.c:19 in conn_create"},
		{"parameter", shadow + "creation-unknown/input.patch", "conn", "first_port", false, "",
			"net/conn/conn_core.c:17 in conn_create assigns first_port = port at creation, and it reads port, which is not a field of the object or a constant"},
		// "c->port = port;" before: port is c->port at that point
		{"alias", "testdata/creation-alias.patch", "conn", "first_port", false, "s->port",
			"first_port = port at net/conn/conn_core.c:18 in conn_create"},
		// ... but the patched conn_account() moves c->port later
		{"written later", "testdata/creation-written-later.patch", "conn", "first_port", false, "",
			"net/conn/conn_core.c:32 in conn_account assigns ->port after creation, so s->port would give an existing object the field's current value, not its creation value"},
		// "c->marked = (0U);" at creation is zero like the kzalloc
		{"assigned zero", "testdata/creation-zero.patch", "conn", "marked", true, "",
			"its creation path assigns marked zero, and nothing assigns it anything else: net/conn/conn_core.c:14 heap in conn_create (assigns marked = (0U) at net/conn/conn_core.c:18)"},
		// conn_create calls conn_set_mtu(), which assigns the member
		// through its own parameter: the creation path gives it 1500
		{"callee", "testdata/creation-callee.patch", "conn", "mtu", false, "",
			"net/conn/conn_core.c:12 in conn_set_mtu assigns mtu, and conn_create calls it (directly or through other functions) on the creation path"},
		{"sess", conn + "/patches/04-irq-counter.patch", "sess", "irqs", true, "",
			"net/conn/conn_core.c:46 heap in sess_new (kzalloc)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := creationValue(t, tt.patch, tt.tag, tt.member)
			if v.Zero != tt.zero || v.Expr != tt.expr || v.Known() != (tt.zero || tt.expr != "") {
				t.Errorf("got zero %v, expr %q; want zero %v, expr %q (%s)", v.Zero, v.Expr, tt.zero, tt.expr, v.Evidence)
			}
			if !strings.Contains(v.Evidence, tt.evidence) {
				t.Errorf("the evidence does not say %q:\n%s", tt.evidence, v.Evidence)
			}
		})
	}
}
