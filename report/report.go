// Package report turns a rewrite session into what kprewrite prints: the
// findings, the object each changed file belongs to, and a summary, as text
// for people or JSON for tools (schema in the README).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
)

// SchemaVersion is the version of the JSON report format.
const SchemaVersion = 1

// Object says which binary a changed file's code ends up in.
type Object struct {
	File    string   `json:"file"`
	Object  string   `json:"object"`            // "vmlinux", a module name, "vmlinux, bonding" for a header, "not built", "unknown"
	Objects []string `json:"objects,omitempty"` // for a header: every object with a file that includes it
	Users   []string `json:"users,omitempty"`   // for a header: the .c files that include it
	Why     string   `json:"why"`
}

// Summary counts findings.
type Summary struct {
	Hazards  int `json:"hazards"`
	Resolved int `json:"resolved"`
	Manual   int `json:"manual"` // findings and notes that need an engineer
	Notes    int `json:"notes"`
}

// Patch is the report for one patch.
type Patch struct {
	Name     string            `json:"name"`
	Subject  string            `json:"subject,omitempty"`
	Findings []rewrite.Finding `json:"findings"`
	Objects  []Object          `json:"objects"`
	Applied  []string          `json:"applied,omitempty"` // offset/fuzz notes from applying the patch
	Summary  Summary           `json:"summary"`
}

// Report is the whole output of one command.
type Report struct {
	Tool          string  `json:"tool"`
	SchemaVersion int     `json:"schema_version"`
	Command       string  `json:"command"`
	Tree          string  `json:"tree"`
	Config        string  `json:"config,omitempty"`
	Glue          *Glue   `json:"glue,omitempty"`
	Patches       []Patch `json:"patches"`
	// Timings are the phase times of the run, with --timings only.
	Timings []progress.Phase `json:"timings,omitempty"`
}

// Glue is the livepatch builder a rewrite generated its glue (callbacks,
// system call macros) for, and why that one.
type Glue struct {
	Dialect string `json:"dialect"` // "klp" or "kpatch"
	Why     string `json:"why"`
	Used    bool   `json:"used"` // the rewritten patch includes a glue header
}

// New starts a report for a command.
func New(command string, env *kbuild.Env) *Report {
	r := &Report{Tool: "kprewrite", SchemaVersion: SchemaVersion, Command: command, Tree: env.Tree.Root(), Config: env.ConfigPath}
	return r
}

// Add adds the report of one session.
func (r *Report) Add(name string, s *rewrite.Session) {
	p := Patch{Name: name, Subject: s.Patch.Subject(), Findings: s.Findings(), Applied: s.Applied}
	if p.Findings == nil {
		p.Findings = []rewrite.Finding{}
	}
	for _, f := range p.Findings {
		if f.Kind == "note" {
			p.Summary.Notes++
			if f.NeedsHuman() { // a note whose action is manual work counts too
				p.Summary.Manual++
			}
			continue
		}
		p.Summary.Hazards++
		if f.Resolved {
			p.Summary.Resolved++
		} else if f.NeedsHuman() {
			p.Summary.Manual++
		}
	}
	p.Objects = Objects(s.Env, s.Touched())
	r.Patches = append(r.Patches, p)
}

// Structs returns the structs and unions the findings are about
// ("struct slave"), for the layout proof.
func (r *Report) Structs() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range r.Patches {
		for _, f := range p.Findings {
			if f.Kind != "struct-layout" {
				continue
			}
			name, _, _ := strings.Cut(f.Subject, ".")
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// NeedsHuman reports whether any finding of any patch needs an engineer.
func (r *Report) NeedsHuman() bool {
	for _, p := range r.Patches {
		if p.Summary.Manual > 0 {
			return true
		}
	}
	return false
}

// Objects maps files to objects; headers to every object that includes them.
func Objects(env *kbuild.Env, files []string) []Object {
	var out []Object
	for _, f := range files {
		if !change.IsHeader(f) {
			o := env.ObjectOf(f)
			out = append(out, Object{File: f, Object: o.Name(), Why: o.Why})
			continue
		}
		users, method, err := env.Includers(f)
		if err != nil {
			out = append(out, Object{File: f, Object: "unknown", Why: err.Error()})
			continue
		}
		set := map[string]bool{}
		unknown := false
		for _, u := range users {
			o := env.ObjectOf(u)
			switch o.Kind {
			case kbuild.NotBuilt:
				continue
			case kbuild.UnknownObject:
				unknown = true
				continue
			}
			set[o.Name()] = true
		}
		var objs []string
		for o := range set {
			objs = append(objs, o)
		}
		sort.Slice(objs, func(i, j int) bool {
			if (objs[i] == "vmlinux") != (objs[j] == "vmlinux") {
				return objs[i] == "vmlinux"
			}
			return objs[i] < objs[j]
		})
		name := strings.Join(objs, ", ")
		switch {
		case env.Config == nil:
			name = "unknown"
		case name == "" && unknown:
			name = "unknown"
		case name == "":
			name = "not built"
		}
		out = append(out, Object{File: f, Object: name, Objects: objs, Users: users,
			Why: fmt.Sprintf("%d .c files include it (%s)", len(users), method)})
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	for i, p := range r.Patches {
		if i > 0 {
			fmt.Fprintln(w)
		}
		title := p.Name
		if p.Subject != "" {
			title += ": " + p.Subject
		}
		fmt.Fprintln(w, title)
		for _, a := range p.Applied {
			fmt.Fprintln(w, "  note: "+a)
		}
		fmt.Fprintln(w, "\nObjects:")
		width := 0
		for _, o := range p.Objects {
			width = max(width, len(o.File))
		}
		for _, o := range p.Objects {
			extra := ""
			if len(o.Users) > 0 {
				extra = fmt.Sprintf("  (%d .c files)", len(o.Users))
			}
			fmt.Fprintf(w, "  %-*s  %s%s\n", width, o.File, o.Object, extra)
		}
		fmt.Fprintln(w, "\nFindings:")
		if len(p.Findings) == 0 {
			fmt.Fprintln(w, "  none: the patch can go to a livepatch builder as it is")
		}
		for _, f := range p.Findings {
			status := "->"
			switch {
			case f.Resolved:
				status = "-> rewritten by"
			case f.NeedsHuman():
				status = "!!"
			}
			fmt.Fprintf(w, "  %s:%d: %s: %s\n", f.File, f.Line, f.Kind, f.Subject)
			fmt.Fprintf(w, "      %s\n", f.Reason)
			for _, t := range f.Tried {
				fmt.Fprintf(w, "      tried %s\n", t)
			}
			if f.Note != "" {
				fmt.Fprintf(w, "      %s\n", f.Note)
			}
			if len(f.Edits) > 0 {
				fmt.Fprintf(w, "      edits: %s\n", EditList(f.Edits))
			}
			fmt.Fprintf(w, "      %s %s\n", status, f.Action)
		}
		s := p.Summary
		fmt.Fprintf(w, "\nSummary: %d hazards: %d rewritten by transforms, %d need an engineer", s.Hazards, s.Resolved, s.Manual)
		if s.Notes > 0 {
			fmt.Fprintf(w, "; %d notes", s.Notes)
		}
		fmt.Fprintln(w, ".")
	}
	if g := r.Glue; g != nil && g.Used {
		fmt.Fprintf(w, "\nLivepatch glue: %s dialect (%s).\n", g.Dialect, g.Why)
	}
}

// EditList renders which edits resolved a finding, per file:
// "a.c: accessor call x6, accessors; b.h: member taken out of the header".
func EditList(es []rewrite.EditSummary) string {
	var b strings.Builder
	for i, e := range es {
		switch {
		case i == 0:
			b.WriteString(e.File + ": ")
		case e.File != es[i-1].File:
			b.WriteString("; " + e.File + ": ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(e.String())
	}
	return b.String()
}
