// Package rewrite is kprewrite's driver. Transforms (one rewrite rule each,
// like an analysis.Analyzer) look at a patch applied to a tree, claim the
// livepatch hazards they can fix and propose plain-data text edits on the
// post-image. The driver runs the transforms in order on the evolving
// post-image, applies each transform's edits at once (refusing overlaps),
// and renders the tree's pre-image against the final post-image as the
// rewritten patch.
package rewrite

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// Transform is one rewrite rule.
type Transform struct {
	Name string // short name, used in reports and as a hazard's action
	Doc  string // one paragraph: what it rewrites and when it refuses
	Run  func(*Pass) error
}

// Options tune the transforms.
type Options struct {
	// Dialect of generated livepatch glue: "klp" (the kernel's
	// livepatch_helpers.h, klp-build) or "kpatch" (kpatch-macros.h).
	Dialect string
	// Strategy forces how new struct members are handled: "" (automatic:
	// bitfield, structext, hole, shadow in that order) or one of them.
	Strategy string
	// MaxUsers caps how many .c files a moved header definition may reach.
	MaxUsers int
	// ShadowIDs overrides the shadow id of members ("struct slave.x").
	ShadowIDs map[string]uint64
}

// Edit replaces File[Start:End] (byte offsets in the current post-image)
// with New.
type Edit struct {
	File       string
	Start, End int
	New        string
	why        string // the transform and purpose, for conflict messages
}

// Entry is a hazard with what became of it.
type Entry struct {
	*hazard.Hazard
	ResolvedBy string   // transform that rewrote it away
	Note       string   // how it was rewritten
	Tried      []string // why transforms that looked at it refused it, in order
}

// Finding is the report form of an entry or a transform's note.
type Finding struct {
	File      string   `json:"file"`
	Line      int      `json:"line"`
	Kind      string   `json:"kind"`
	Subject   string   `json:"subject"`
	Reason    string   `json:"reason"`
	Action    string   `json:"action"`
	Resolved  bool     `json:"resolved"`
	Transform string   `json:"transform,omitempty"`
	Note      string   `json:"note,omitempty"`
	Tried     []string `json:"tried,omitempty"`
}

// NeedsHuman reports whether the finding needs an engineer.
func (f Finding) NeedsHuman() bool { return strings.HasPrefix(f.Action, "manual") }

// Session is one patch being rewritten against one tree.
type Session struct {
	Env     *kbuild.Env
	Base    tree.FS      // the tree the patch applies to (never written)
	Patch   *patch.Patch // the upstream patch
	Options Options

	Upstream map[string][]byte // upstream post-image of each file the patch touches (nil: deleted)
	Current  map[string][]byte // evolving post-image: upstream files and files transforms touched
	order    []string
	Changes  []*change.File // what the upstream patch changes, file by file
	Entries  []*Entry
	Notes    []Finding // transforms' own notes (decisions, values existing objects read)
	Applied  []string  // patch(1)-style offset and fuzz notes

	parsed  map[string]parsedFile
	memo    map[string]any // answers transforms share (creation sites, ...)
	work    string
	oracle  *oracle.Oracle
	layouts map[string][2]*layout.Struct
	fatal   error // first failure of the environment (see Err)
}

type parsedFile struct {
	sum [32]byte
	f   *ast.File
}

// Load applies p to base, computes the change model and the hazards.
func Load(env *kbuild.Env, base tree.FS, p *patch.Patch, opt Options) (*Session, error) {
	res, err := p.Apply(base)
	if err != nil {
		return nil, err
	}
	s := &Session{Env: env, Base: base, Patch: p, Options: opt,
		Upstream: map[string][]byte{}, Current: map[string][]byte{}, parsed: map[string]parsedFile{},
		layouts: map[string][2]*layout.Struct{}, memo: map[string]any{}}
	for _, r := range res {
		s.Upstream[r.Path] = r.New
		s.Current[r.Path] = r.New
		s.order = append(s.order, r.Path)
		s.Applied = append(s.Applied, r.Notes...)
		s.Changes = append(s.Changes, change.Compute(r.Path, r.Old, r.New))
	}
	for _, h := range hazard.Analyze(s.Changes) {
		s.Entries = append(s.Entries, &Entry{Hazard: h})
	}
	return s, nil
}

// Memo returns the value computed for key in this session, computing it
// with fn the first time. Facts about the tree that several transforms need
// (the creation sites of a struct) are worked out once.
func (s *Session) Memo(key string, fn func() any) any {
	if v, ok := s.memo[key]; ok {
		return v
	}
	v := fn()
	s.memo[key] = v
	return v
}

// Original returns the pre-image of a file (nil when the patch creates it).
func (s *Session) Original(rel string) []byte {
	data, err := s.Base.ReadFile(rel)
	if err != nil {
		return nil
	}
	return data
}

// Parse returns the model of the current post-image of a file (cached).
func (s *Session) Parse(rel string) *ast.File {
	data := s.File(rel)
	sum := sha256.Sum256(data)
	if p, ok := s.parsed[rel]; ok && p.sum == sum {
		return p.f
	}
	f := ast.Parse(rel, data)
	s.parsed[rel] = parsedFile{sum, f}
	return f
}

// File returns the current post-image of rel, reading it from the tree if
// no transform or patch touched it yet.
func (s *Session) File(rel string) []byte {
	if d, ok := s.Current[rel]; ok {
		return d
	}
	return s.Original(rel)
}

// Touched returns the files in the current post-image, upstream ones first.
func (s *Session) Touched() []string { return append([]string(nil), s.order...) }

// ChangeOf returns the change model of a file of the upstream patch.
func (s *Session) ChangeOf(rel string) *change.File {
	for _, c := range s.Changes {
		if c.Path == rel {
			return c
		}
	}
	return nil
}

// Pass is a transform's view of the session while it runs.
type Pass struct {
	*Session
	Transform *Transform
	edits     []Edit
}

// Edit proposes replacing [start, end) of the current post-image of file.
func (p *Pass) Edit(file string, start, end int, text, why string) {
	p.edits = append(p.edits, Edit{File: file, Start: start, End: end, New: text, why: p.Transform.Name + ": " + why})
}

// Note adds a decision or fact to the report.
func (p *Pass) Note(f Finding) {
	f.Transform = p.Transform.Name
	if f.Kind == "" {
		f.Kind = "note"
	}
	if f.Action == "" {
		f.Action = "none"
	}
	p.Notes = append(p.Notes, f)
}

// Resolve marks a hazard as rewritten away by this transform.
func (p *Pass) Resolve(e *Entry, how string) {
	e.ResolvedBy = p.Transform.Name
	e.Action = p.Transform.Name
	e.Note = how
}

// Refuse records that this transform cannot handle a hazard, and why.
func (p *Pass) Refuse(e *Entry, why, action string) {
	if e.ResolvedBy != "" {
		return
	}
	e.Tried = append(e.Tried, why)
	if action != "" {
		e.Action = action
	}
}

// Run runs the transforms in order, applying each one's edits before the
// next runs.
func (s *Session) Run(transforms []*Transform) error {
	for _, t := range transforms {
		p := &Pass{Session: s, Transform: t}
		err := t.Run(p)
		if ferr := s.Err(); ferr != nil {
			return ferr // a broken compiler or work area, never evidence
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if err := s.apply(p.edits); err != nil {
			return err
		}
	}
	return nil
}

// apply applies one transform's edits, refusing overlapping ones.
func (s *Session) apply(edits []Edit) error {
	byFile := map[string][]Edit{}
	for _, e := range edits {
		byFile[e.File] = append(byFile[e.File], e)
	}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		es := byFile[f]
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].Start != es[j].Start {
				return es[i].Start < es[j].Start
			}
			return es[i].End < es[j].End
		})
		src := s.File(f)
		for i := range es {
			if es[i].Start < 0 || es[i].End > len(src) || es[i].Start > es[i].End {
				return fmt.Errorf("%s: edit out of range (%s)", f, es[i].why)
			}
			if i > 0 && es[i].Start < es[i-1].End {
				return fmt.Errorf("%s: conflicting edits at byte %d: %q and %q", f, es[i].Start, es[i-1].why, es[i].why)
			}
		}
		var b strings.Builder
		last := 0
		var inline []int // output offsets of in-line edits on lines that fitted
		for _, e := range es {
			b.WriteString(string(src[last:e.Start]))
			if !strings.Contains(e.New, "\n") && columns(lineAt(src, e.Start)) <= maxColumns {
				inline = append(inline, b.Len())
			}
			b.WriteString(e.New)
			last = e.End
		}
		b.WriteString(string(src[last:]))
		if _, ok := s.Current[f]; !ok {
			s.order = append(s.order, f)
		}
		s.Current[f] = wrapEdited([]byte(b.String()), inline)
	}
	return nil
}

// Findings returns every hazard with its resolution, then the transforms'
// notes.
func (s *Session) Findings() []Finding {
	var out []Finding
	for _, e := range s.Entries {
		out = append(out, Finding{File: e.File, Line: e.Line, Kind: string(e.Kind), Subject: e.Subject, Reason: e.Reason,
			Action: e.Action, Resolved: e.ResolvedBy != "", Transform: e.ResolvedBy, Note: e.Note, Tried: e.Tried})
	}
	return append(out, s.Notes...)
}

// Output renders the rewritten patch: the tree's pre-images against the
// final post-images, with the upstream mail around it.
func (s *Session) Output() *patch.Patch {
	out := &patch.Patch{Mail: s.Patch.Mail}
	for _, f := range s.order {
		if d := patch.Diff(f, s.Original(f), s.Current[f]); d != nil {
			if s.Base.Exists(f) {
				d.OldPath = f
			}
			out.Files = append(out.Files, d)
		}
	}
	return out
}

// Transforms that changed something, for the notes of the output mail.
func (s *Session) usedTransforms() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range s.Entries {
		if e.ResolvedBy != "" && !seen[e.ResolvedBy] {
			seen[e.ResolvedBy] = true
			out = append(out, e.ResolvedBy)
		}
	}
	return out
}

// RenderOptions returns the notes kprewrite adds under the mail's "---".
func (s *Session) RenderOptions() patch.RenderOptions {
	used := s.usedTransforms()
	if len(used) == 0 {
		return patch.RenderOptions{}
	}
	return patch.RenderOptions{Notes: []string{"kprewrite: rewritten for livepatching (" + strings.Join(used, ", ") + ")"}}
}

// ManualOrFallback is the action for a hazard a transform refuses: the
// next transform in line, or manual work when that one is not enabled.
func ManualOrFallback(p *Pass, fallback string) string {
	if p.Options.Strategy != "" {
		return hazardManual("keep the layout: use a " + fallback + " (or run without --strategy)")
	}
	return hazardManual("keep the layout: use a " + fallback)
}

func hazardManual(s string) string { return hazard.Manual(s) }
