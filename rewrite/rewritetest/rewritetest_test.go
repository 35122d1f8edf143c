package rewritetest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/rewrite"
)

func TestParseExpect(t *testing.T) {
	t.Parallel()
	c, err := ParseExpect(`# a case
tree flags
strategy bitfield
dialect kpatch
max-users 3
noconfig
resolved bitfield: struct port.up
refused struct port.f8: no spare bits: the upstream change moves duplex
tried struct port.f8: bitfield: no spare
note struct port.up: objects that exist
`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Case{Tree: "flags", NoConfig: true, Options: rewrite.Options{Dialect: "kpatch", Strategy: "bitfield", MaxUsers: 3},
		Expects: []Expect{
			{Line: 7, What: "resolved", By: "bitfield", Subject: "struct port.up"},
			{Line: 8, What: "refused", Subject: "struct port.f8", Text: "no spare bits: the upstream change moves duplex", Rest: "struct port.f8: no spare bits: the upstream change moves duplex"},
			{Line: 9, What: "tried", Subject: "struct port.f8", Text: "bitfield: no spare", Rest: "struct port.f8: bitfield: no spare"},
			{Line: 10, What: "note", Subject: "struct port.up", Text: "objects that exist", Rest: "struct port.up: objects that exist"},
		}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for text, msg := range map[string]string{
		"strategy bitfield\n":          `no "tree NAME" line`,
		"tree a\nfrobnicate x\n":       `line 2: unknown word "frobnicate"`,
		"tree a\nresolved bitfield\n":  `line 2: want "resolved TRANSFORM: SUBJECT"`,
		"tree a\nmax-users many\n":     `line 2: max-users wants a number`,
		"tree a\nrefused no-colon-x\n": `line 2: want "refused SUBJECT: TEXT"`,
	} {
		if _, err := ParseExpect(text); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: got %v, want %q", text, err, msg)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	findings := []rewrite.Finding{
		{Subject: "struct p.a", Kind: "struct-layout", Resolved: true, Transform: "hole", Tried: []string{"structext: copied"}},
		{Subject: "struct p.b", Kind: "struct-layout", Action: "manual: use a shadow variable", Tried: []string{"hole: no room"}},
		{Subject: "ring_used", Kind: "note", Reason: "blast radius of ring_used"},
	}
	c := &Case{Expects: []Expect{
		{Line: 1, What: "resolved", By: "hole", Subject: "struct p.a"},
		{Line: 2, What: "tried", Subject: "struct p.a", Text: "structext: copied"},
		{Line: 3, What: "refused", Subject: "struct p.b", Text: "hole: no room"},
		{Line: 4, What: "refused", Subject: "struct p.b", Text: "use a shadow"},
		{Line: 5, What: "note", Subject: "ring_used", Text: "blast radius"},
	}}
	if errs := c.Check(findings); errs != nil {
		t.Errorf("unexpected failures: %q", errs)
	}
	bad := &Case{Expects: []Expect{
		{Line: 1, What: "resolved", By: "shadow", Subject: "struct p.a"},
		{Line: 2, What: "refused", Subject: "struct p.a", Text: "x"},
		{Line: 3, What: "refused", Subject: "struct p.b", Text: "not said"},
		{Line: 4, What: "note", Subject: "ring_used", Text: "not said"},
		{Line: 5, What: "resolved", By: "hole", Subject: "struct p.zz"},
	}}
	errs := bad.Check(findings)
	if len(errs) != 5 {
		t.Fatalf("want 5 failures, got %q", errs)
	}
	for i, want := range []string{"expect:1: struct p.a is not resolved by shadow", "expect:2: struct p.a is resolved by hole, not refused",
		"expect:3: the refusal of struct p.b does not say", "expect:4: no note finding", "expect:5: no resolved finding"} {
		if !strings.HasPrefix(errs[i], want) {
			t.Errorf("failure %d: %q, want %q", i, errs[i], want)
		}
	}
}
