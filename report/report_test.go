package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/rewrite"
)

func sample() *Report {
	return &Report{Tool: "kprewrite", SchemaVersion: SchemaVersion, Command: "rewrite", Tree: "/t", Patches: []Patch{{
		Name: "fix.patch", Subject: "[PATCH] fix",
		Findings: []rewrite.Finding{
			{File: "include/s.h", Line: 3, Kind: "struct-layout", Subject: "struct s.b", Reason: "grows", Action: "hole",
				Resolved: true, Transform: "hole", Note: "kept in a hole", Tried: []string{"structext: copied"},
				Edits: []rewrite.EditSummary{{File: "a.c", What: "pointer accessor", Count: 2}, {File: "a.c", What: "accessors", Count: 1}, {File: "include/s.h", What: "member taken out of the header", Count: 1}}},
			{File: "kernel/a.c", Line: 9, Kind: "init-code", Subject: "a_init", Reason: "ran at boot", Action: "manual: use a callback"},
		},
		Objects: []Object{{File: "a.c", Object: "vmlinux", Why: "obj-y"}},
		Summary: Summary{Hazards: 2, Resolved: 1, Manual: 1},
	}}}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	sample().WriteText(&b)
	want := `fix.patch: [PATCH] fix

Objects:
  a.c  vmlinux

Findings:
  include/s.h:3: struct-layout: struct s.b
      grows
      tried structext: copied
      kept in a hole
      edits: a.c: pointer accessor x2, accessors; include/s.h: member taken out of the header
      -> rewritten by hole
  kernel/a.c:9: init-code: a_init
      ran at boot
      !! manual: use a callback

Summary: 2 hazards: 1 rewritten by transforms, 1 need an engineer.
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := sample().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sample(), &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	if !strings.Contains(b.String(), `"what": "pointer accessor"`) {
		t.Errorf("edits missing from JSON:\n%s", b.String())
	}
}

func TestNeedsHumanAndStructs(t *testing.T) {
	t.Parallel()
	r := sample()
	if !r.NeedsHuman() {
		t.Error("a manual finding needs no human")
	}
	if diff := cmp.Diff([]string{"struct s"}, r.Structs()); diff != "" {
		t.Errorf("structs (-want +got):\n%s", diff)
	}
	r.Patches[0].Summary.Manual = 0
	if r.NeedsHuman() {
		t.Error("no manual finding, yet needs a human")
	}
}
