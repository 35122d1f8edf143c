// Package rewrite is kprewrite's driver. Transforms (one rewrite rule each,
// declared like an analysis.Analyzer: the hazard kinds they take, the facts
// they require, their place among the member strategies) look at a patch
// applied to a tree, claim the livepatch hazards they can fix and propose
// edits (package edit) on the post-image, each naming the hazard it
// resolves. The driver runs the transforms in registry order on the
// evolving post-image, computes each required fact once per session,
// applies each transform's edits at once (refusing overlaps), words
// refusals and their fallback actions, and renders the tree's pre-image
// against the final post-image as the rewritten patch.
package rewrite

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/lpname"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// Transform is one rewrite rule, declared like an analysis.Analyzer: what
// it is, which hazards it can take, which shared facts it reads, and, for a
// member strategy, its place in the fallback chain (the registry order).
// The driver owns what all transforms have in common: skipping a member
// strategy that --strategy did not choose, the transform's name in front of
// its refusals, the fallback action of a refused hazard, and which edits
// resolved which hazard.
type Transform struct {
	Name string // short name, used in reports and as a hazard's action
	Doc  string // one paragraph: what it rewrites and when it refuses
	// Kinds are the hazard kinds the transform can take (none for one
	// that only tidies the output, as comments does).
	Kinds []hazard.Kind
	// Requires lists the facts the transform reads (Fact.Get refuses an
	// undeclared one): each is computed once per session and shared.
	Requires []Requirement
	// Member, when set, makes the transform a member strategy: one of
	// the ways a new struct member is kept out of the struct, tried in
	// registry order and selectable with --strategy.
	Member *MemberStrategy
	// Opportunistic, when set, keeps the transform from being predicted as
	// the taker of a hazard (Taker): it rewrites only a shape of the whole
	// patch it finds when it runs (code moved between files) and leaves
	// every other hazard of its kinds to the transforms after it.
	Opportunistic bool
	Run           func(*Pass) error
}

// MemberStrategy describes a transform that handles new struct members.
type MemberStrategy struct {
	// Use names what the engineer uses when an earlier strategy refuses
	// and this one is next: "shadow variable" in "keep the layout: use a
	// shadow variable".
	Use string
	// Takes reports whether the strategy can take a new member (its
	// change): a bitfield, a member without an initialiser, ...
	Takes func(*change.Change) bool
	// Pin, when set, returns opt with member ("struct X.m") pinned where
	// an earlier livepatch of a cumulative series kept it, in the words
	// this strategy gave the place (Entry.Placement); it copies any map
	// of opt it changes. A replacing livepatch must find the state the
	// replaced one kept.
	Pin func(opt Options, member, placement string) Options
	// Keeps, when set, says what a replacing livepatch keeps of a member
	// this strategy placed ("struct X.m in the objects themselves ...").
	Keeps func(member, placement string) string
	// Drops, when set, is what a replacing livepatch may lose of the
	// members this strategy placed, said once per replacement.
	Drops string
}

// Strategies returns the names of the member strategies of transforms, in
// order: the values --strategy accepts besides "auto".
func Strategies(transforms []*Transform) []string {
	var out []string
	for _, t := range transforms {
		if t.Member != nil {
			out = append(out, t.Name)
		}
	}
	return out
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
	// HoleOffsets pins members ("struct slave.x") the hole strategy places
	// to a byte offset: where an earlier livepatch of a cumulative series
	// put them, which a replacing livepatch must keep.
	HoleOffsets map[string]int64
	// Existing holds the engineer's decisions ("struct intel_dp.wa" ->
	// "0"): what objects created before the livepatch read in a new member
	// when kprewrite cannot prove what upstream creation gives it. The
	// value is a C expression over the object, named s (a pointer to the
	// const struct). The report says each is a decision, not a proof.
	Existing map[string]string
}

// Entry is a hazard with what became of it.
type Entry struct {
	*hazard.Hazard
	ResolvedBy string      // transform that rewrote it away
	Note       string      // how it was rewritten
	Tried      []string    // why transforms that looked at it refused it, in order
	Edits      []edit.Edit // the edits that resolved it (offsets as proposed)

	// manual is the hazard's own action (what the engineer does) while
	// Action is the transform predicted to take it (see Taker).
	manual string

	// unbuilt is set for a hazard in code the config does not build (see
	// notBuiltWhy): a note, which a transform's refusal cannot turn back
	// into work for an engineer.
	unbuilt bool

	// Placement is where a resolved new member lives ("hole: byte 18,
	// 2 bytes", "shadow: id 0x1f"), in the words a later cumulative
	// livepatch must repeat to find the state this one keeps.
	Placement string
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
	// Edits says which edits resolved the hazard: per file and purpose.
	Edits []EditSummary `json:"edits,omitempty"`
}

// EditSummary counts the edits of one purpose in one file.
type EditSummary struct {
	File  string `json:"file"`
	What  string `json:"what"`
	Count int    `json:"count"`
}

// String is the purpose with its count: "accessor call x6".
func (e EditSummary) String() string {
	if e.Count == 1 {
		return e.What
	}
	return fmt.Sprintf("%s x%d", e.What, e.Count)
}

// summarize groups edits by file (in name order) and purpose (in order of
// first appearance).
func summarize(es []edit.Edit) []EditSummary {
	var out []EditSummary
	at := map[[2]string]int{}
	for _, e := range es {
		_, what, _ := strings.Cut(e.Why, ": ")
		k := [2]string{e.File, what}
		if i, ok := at[k]; ok {
			out[i].Count++
			continue
		}
		at[k] = len(out)
		out = append(out, EditSummary{File: e.File, What: what, Count: 1})
	}
	slices.SortStableFunc(out, func(a, b EditSummary) int { return strings.Compare(a.File, b.File) })
	return out
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

	parsed     map[string]parsedFile
	facts      map[factKey]factValue // facts computed once and shared
	work       string
	oracle     *oracle.Oracle
	transforms []*Transform    // the registry the session runs
	fatal      error           // first failure of the environment (see Err)
	decided    map[string]bool // Options.Existing keys a strategy asked for
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
		facts: map[factKey]factValue{}, decided: map[string]bool{}}
	for _, r := range res {
		s.Upstream[r.Path] = r.New
		s.Current[r.Path] = r.New
		s.order = append(s.order, r.Path)
		s.Applied = append(s.Applied, r.Notes...)
		s.Changes = append(s.Changes, change.Compute(r.Path, r.Old, r.New))
	}
	unbuilt := map[string]string{} // file -> why the config builds none of it
	for _, h := range hazard.Analyze(s.Changes) {
		if _, ok := unbuilt[h.File]; !ok {
			unbuilt[h.File] = s.notBuiltWhy(h.File)
		}
		e := &Entry{Hazard: h}
		if why := unbuilt[h.File]; why != "" && h.Action != "none" {
			h.Reason = fmt.Sprintf("%s; but %s: none of its code is in this kernel, so there is nothing to livepatch here", h.Reason, why)
			h.Action = "none"
			h.Auto = false
			e.unbuilt = true
		}
		s.Entries = append(s.Entries, e)
	}
	return s, nil
}

// notBuiltWhy says why the config builds nothing of a file the patch
// changes, or "" when it may: a source file the Makefiles do not select,
// or a header of the base tree whose includers are all such files (and
// that no .c file of the patch that the config builds includes). A hazard
// there is a note: none of its code is in the kernel, so there is nothing
// to livepatch in it (its hunks stay in the patch; the builders, which
// build the kernel's own objects, never see them). Only definite answers
// count: an object kprewrite cannot decide keeps its hazard.
func (s *Session) notBuiltWhy(file string) string {
	env := s.Env
	if env == nil || env.Config == nil {
		return ""
	}
	switch path.Ext(file) {
	case ".c":
		if o := env.ObjectOf(file); o.Kind == kbuild.NotBuilt {
			return fmt.Sprintf("the config does not build %s (%s)", file, o.Why)
		}
	case ".h":
		if !s.Base.Exists(file) {
			return "" // a new header: its includers are in the patch
		}
		hu, err := env.HeaderUsers(file)
		if err != nil || !hu.NoneBuilt() {
			return ""
		}
		for _, f := range s.order {
			if path.Ext(f) == ".c" && bytes.Contains(s.Current[f], []byte(path.Base(file))) && env.ObjectOf(f).Kind != kbuild.NotBuilt {
				return ""
			}
		}
		nb := hu.NotBuilt
		if len(nb) > 3 {
			nb = append(nb[:3:3], fmt.Sprintf("%d more", len(hu.NotBuilt)-3))
		}
		return fmt.Sprintf("no file the config builds includes %s (its includers %s are not built)", file, strings.Join(nb, ", "))
	}
	return ""
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

// IncludePaths are the tree files an #include line of file may name, in
// the order kbuild's -I options look: include/, include/uapi/, the
// architecture's include/ and include/uapi/, and, for "x.h", file's own
// directory first, then its parent's (a subdirectory's objects get their
// parent's headers through ccflags' -I: arch/x86/kvm/svm/nested.c's
// "lapic.h" is arch/x86/kvm/lapic.h).
func (s *Session) IncludePaths(file string, inc *ast.Include) []string {
	var out []string
	if !inc.System {
		dir := path.Dir(file)
		out = append(out, path.Join(dir, inc.Path))
		if strings.Contains(dir, "/") {
			out = append(out, path.Join(path.Dir(dir), inc.Path))
		}
	}
	out = append(out, "include/"+inc.Path, "include/uapi/"+inc.Path)
	if s.Env != nil && s.Env.Make != nil {
		arch := "arch/" + s.Env.Make.SrcArch() + "/include/"
		out = append(out, arch+inc.Path, arch+"uapi/"+inc.Path)
	}
	return out
}

// IncludesHeader reports whether file includes header, directly or
// through other headers (the tree's include graph, or kbuild's records of
// a complete build).
func (s *Session) IncludesHeader(file, header string) bool {
	users, _, err := s.Env.Includers(header)
	return err == nil && slices.Contains(users, file)
}

// IncludedHeaders returns the headers rel includes directly, as the patch
// leaves them (parsed), each the first of its IncludePaths that exists.
func (s *Session) IncludedHeaders(rel string) []*ast.File {
	var out []*ast.File
	for _, inc := range s.Parse(rel).Includes {
		for _, h := range s.IncludePaths(rel, inc) {
			if s.File(h) != nil {
				out = append(out, s.Parse(h))
				break
			}
		}
	}
	return out
}

// Dropped reports whether rel is a file the upstream patch creates and a
// transform emptied: it is left out of the output, not created empty.
func (s *Session) Dropped(rel string) bool {
	return !s.Base.Exists(rel) && len(s.Upstream[rel]) > 0 && s.Current[rel] != nil && len(s.Current[rel]) == 0
}

// includesOfDropped deletes the #include lines that name a header the
// upstream patch creates and the transforms emptied (Dropped): the output
// does not create it, so a line that includes it would not compile. Every
// such line is the patch's own (the header is new); each deletion is noted.
// <x.h> is looked for where kbuild's -I options look: include/,
// include/uapi/ and the architecture's include/ and include/uapi/.
func (s *Session) includesOfDropped() []edit.Edit {
	var dropped []string
	for _, f := range s.order {
		if strings.HasSuffix(f, ".h") && s.Dropped(f) {
			dropped = append(dropped, f)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	var out []edit.Edit
	for _, g := range s.order {
		if s.Current[g] == nil || s.Dropped(g) {
			continue
		}
		f := s.Parse(g)
		for _, inc := range f.Includes {
			named := s.IncludePaths(g, inc)
			for _, h := range dropped {
				if !slices.Contains(named, h) {
					continue
				}
				start := ast.LineStart(f.Src, inc.Span.Off)
				end := inc.Span.End
				if end < len(f.Src) && f.Src[end] == '\n' {
					end++
				}
				out = append(out, edit.Edit{File: g, Off: start, End: end, Why: "include of a dropped header"})
				s.Notes = append(s.Notes, Finding{File: g, Line: f.Line(inc.Span.Off), Kind: "note", Action: "none", Subject: "#include " + inc.Path,
					Reason: "dropped: the rewrite moved everything " + h + " held into its users and does not create it"})
				break // one deletion per line
			}
		}
	}
	return out
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
	edits     []edit.Edit
	proposed  map[string]bool // the edits so far, to drop exact repeats
}

// Edit proposes an edit of the current post-image. Its Why is the purpose
// ("accessor call"), its Hazard the hazard it resolves (nil for code that
// several share).
func (p *Pass) Edit(e edit.Edit) {
	e.Why = p.Transform.Name + ": " + e.Why
	// the same edit twice (a macro of the file expanded at two use
	// sites: gcc reports its body once per expansion) is one edit, not a
	// conflict
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%s", e.File, e.Off, e.End, e.Text)
	if p.proposed == nil {
		p.proposed = map[string]bool{}
	}
	if p.proposed[key] {
		return
	}
	p.proposed[key] = true
	p.edits = append(p.edits, e)
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

// Resolve marks a hazard as rewritten away by this transform. A transform
// that resolves a kind of hazard it does not declare in Kinds is a bug.
func (p *Pass) Resolve(e *Entry, how string) {
	if !slices.Contains(p.Transform.Kinds, e.Kind) {
		panic(fmt.Sprintf("kprewrite: transform %s resolves a %s hazard, not among its Kinds", p.Transform.Name, e.Kind))
	}
	e.ResolvedBy = p.Transform.Name
	e.Action = p.Transform.Name
	e.Note = how
}

// Refuse records that this transform cannot handle a hazard, and why (the
// driver puts the transform's name in front). A member strategy's refusal
// also sets the action: the strategies after it in the registry that take
// the member, or nothing when none is left. The refusal of the transform
// predicted to take the hazard (Taker) puts back the hazard's own action,
// what the engineer does.
func (p *Pass) Refuse(e *Entry, why string) {
	p.refuse(e, why, p.fallback(e))
}

// RefuseManual is Refuse with what the engineer must do instead.
func (p *Pass) RefuseManual(e *Entry, why, what string) {
	p.refuse(e, why, hazard.Manual(what))
}

func (p *Pass) refuse(e *Entry, why, action string) {
	if e.ResolvedBy != "" {
		return
	}
	e.Tried = append(e.Tried, p.Transform.Name+": "+why)
	if e.unbuilt {
		return // still a note: nothing of it is in the kernel
	}
	if action == "" && e.manual != "" && e.Action == p.Transform.Name {
		action = e.manual
	}
	if action != "" {
		e.Action = action
	}
}

// fallback is the action for a member a strategy refuses: the later
// strategies of the registry that take it.
func (p *Pass) fallback(e *Entry) string {
	if p.Transform.Member == nil || e.Change == nil {
		return ""
	}
	var uses []string
	after := false
	for _, t := range p.transforms {
		if t == p.Transform {
			after = true
			continue
		}
		if after && t.Member != nil && (t.Member.Takes == nil || t.Member.Takes(e.Change)) {
			uses = append(uses, t.Member.Use)
		}
	}
	if len(uses) == 0 {
		return ""
	}
	what := "keep the layout: use a " + strings.Join(uses, " or a ")
	if p.Options.Strategy != "" {
		what += " (or run without --strategy)"
	}
	return hazard.Manual(what)
}

// Run runs the transforms in order, applying each one's edits before the
// next runs. A member strategy runs only when --strategy chose it or none.
// Before the first runs, each hazard a transform can rewrite as it is
// (hazard.Auto) gets as its action the first of them that takes its kind;
// after the last, one that no transform resolved gets back its own action
// (what the engineer does).
func (s *Session) Run(transforms []*Transform) error {
	s.transforms = transforms
	for _, e := range s.Entries {
		if t := Taker(transforms, s.Options, e.Hazard); t != nil {
			e.manual, e.Action = e.Action, t.Name
		}
	}
	for _, t := range transforms {
		if !s.Options.runs(t) {
			continue
		}
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
	if err := s.apply(s.includesOfDropped()); err != nil {
		return err
	}
	// A hazard the predicted transform neither resolved nor refused is
	// still the engineer's: never a silent exit 0 with nothing rewritten.
	for _, e := range s.Entries {
		if e.manual != "" && e.ResolvedBy == "" && !e.NeedsHuman() {
			e.Tried = append(e.Tried, e.Action+": left it unrewritten")
			e.Action = e.manual
		}
	}
	s.Notes = append(s.Notes, s.unusedDecisions()...)
	return nil
}

// Decision returns the engineer's decision (Options.Existing) of what
// objects created before the livepatch read in member of the struct key
// ("struct intel_dp"), and records that a strategy asked for it.
func (s *Session) Decision(key, member string) (string, bool) {
	k := key + "." + member
	v, ok := s.Options.Existing[k]
	if ok && s.decided != nil {
		s.decided[k] = true // shared by the copies of the session
	}
	return v, ok
}

// unusedDecisions are notes for the decisions no strategy asked for: a
// misspelt member, or one whose strategy needed no value.
func (s *Session) unusedDecisions() []Finding {
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(s.Options.Existing)) {
		if s.decided[k] {
			continue
		}
		out = append(out, Finding{Kind: "note", Subject: k, Action: "none",
			Reason: "the decision --existing \"" + k + "=" + s.Options.Existing[k] + "\" was not used: the patch adds no such member, or the strategy that took it needs no value for objects created before the livepatch"})
	}
	return out
}

// runs reports whether t runs under these options: a member strategy only
// when --strategy chose it or none.
func (o Options) runs(t *Transform) bool {
	return t.Member == nil || o.Strategy == "" || o.Strategy == t.Name
}

// Taker returns the transform predicted to take h: for a hazard a
// transform can rewrite as it is (hazard.Auto), the first of transforms
// that takes its kind and runs under opt (a member strategy only when
// --strategy chose it or none); nil for any other hazard or when none
// does. Run makes its name the hazard's action.
func Taker(transforms []*Transform, opt Options, h *hazard.Hazard) *Transform {
	if !h.Auto {
		return nil
	}
	for _, t := range transforms {
		if opt.runs(t) && !t.Opportunistic && slices.Contains(t.Kinds, h.Kind) {
			return t
		}
	}
	return nil
}

// apply applies one transform's edits, refusing overlapping ones, and
// records on each hazard the edits that resolved it.
func (s *Session) apply(edits []edit.Edit) error {
	edits = s.oneCopyPerUnit(edits)
	byFile := map[string][]edit.Edit{}
	for _, e := range edits {
		byFile[e.File] = append(byFile[e.File], e)
	}
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		es := byFile[f]
		edit.Sort(es)
		src := s.File(f)
		out, starts, err := edit.ApplyOffsets(src, es)
		if err != nil {
			return err
		}
		var inline []int // output offsets of in-line edits on lines that fitted
		for i, e := range es {
			if !strings.Contains(e.Text, "\n") && columns(lineAt(src, e.Off)) <= maxColumns {
				inline = append(inline, starts[i])
			}
		}
		if _, ok := s.Current[f]; !ok {
			s.order = append(s.order, f)
		}
		s.Current[f] = wrapEdited(out, inline)
	}
	byHazard := map[*hazard.Hazard]*Entry{}
	for _, e := range s.Entries {
		byHazard[e.Hazard] = e
	}
	for _, e := range edits {
		if en := byHazard[e.Hazard]; en != nil && e.Hazard != nil {
			en.Edits = append(en.Edits, e)
		}
	}
	return nil
}

// oneCopyPerUnit drops the insertions of text that another .c file of the
// same unit gets too (kernel/sched/build_policy.c #includes rt.c, then
// deadline.c): a transform that gives each file it edits its own
// accessors, helpers or constants would define them twice in the one
// translation unit. The copy that stays is in the file the compiler reads
// first, before the others.
func (s *Session) oneCopyPerUnit(edits []edit.Edit) []edit.Edit {
	if s.Env == nil || s.Env.Config == nil {
		return edits
	}
	type key struct{ unit, text string }
	first := map[key]int{} // -> index of the edit that stays
	drop := map[int]bool{}
	for i, e := range edits {
		if e.Off != e.End || strings.TrimSpace(e.Text) == "" || path.Ext(e.File) != ".c" {
			continue
		}
		unit := s.Env.Unit(e.File)
		if unit == e.File {
			continue
		}
		k := key{unit, e.Text}
		j, ok := first[k]
		switch {
		case !ok:
			first[k] = i
		case edits[j].File == e.File:
		case slices.Compare(s.Env.UnitPosition(e.File), s.Env.UnitPosition(edits[j].File)) < 0:
			drop[j] = true
			first[k] = i
		default:
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return edits
	}
	var out []edit.Edit
	for i, e := range edits {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}

// Findings returns every hazard with its resolution, then the transforms'
// notes.
func (s *Session) Findings() []Finding {
	var out []Finding
	for _, e := range s.Entries {
		out = append(out, Finding{File: e.File, Line: e.Line, Kind: string(e.Kind), Subject: e.Subject, Reason: e.Reason,
			Action: e.Action, Resolved: e.ResolvedBy != "", Transform: e.ResolvedBy, Note: e.Note, Tried: e.Tried,
			Edits: summarize(e.Edits)})
	}
	return append(out, s.Notes...)
}

// Output renders the rewritten patch: the tree's pre-images against the
// final post-images, with the upstream mail around it.
func (s *Session) Output() *patch.Patch {
	out := &patch.Patch{Mail: s.Patch.Mail}
	for _, f := range s.order {
		if s.Dropped(f) {
			continue
		}
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
//
// A patch some findings of which need an engineer is not ready for a
// livepatch builder: it says so first, in the notes of a mail or, for a
// plain diff, in lines before the first diff (which patch and git apply
// skip), naming them, so that it is not mistaken for a finished rewrite.
func (s *Session) RenderOptions() patch.RenderOptions {
	var opt patch.RenderOptions
	var manual []string
	for _, f := range s.Findings() {
		if f.NeedsHuman() && (f.Kind == "note" || !f.Resolved) && !slices.Contains(manual, f.Subject) {
			manual = append(manual, f.Subject)
		}
	}
	if len(manual) > 0 {
		opt.Notes = append(opt.Notes, fmt.Sprintf("kprewrite: NOT READY for a livepatch builder: %d findings need an engineer (see the report): %s", len(manual), strings.Join(manual, "; ")))
	}
	if used := s.usedTransforms(); len(used) > 0 {
		opt.Notes = append(opt.Notes, "kprewrite: rewritten for livepatching ("+strings.Join(used, ", ")+")")
	}
	return opt
}

// UniqueName returns name, or name with a number (name2, name3, ...) when
// an identifier of that name already appears in one of the touched files:
// the first candidate no file uses.
func (s *Session) UniqueName(name string) string {
	return lpname.Unique(name, func(n string) bool {
		for _, f := range s.order {
			if e := path.Ext(f); e != ".c" && e != ".h" {
				continue
			}
			for _, t := range s.Parse(f).Tokens {
				if t.Kind == ast.Ident && t.Text == n {
					return true
				}
			}
		}
		return false
	})
}

// Part returns a view of the session for the report of one patch of a
// series: the same tree, post-images and notes, with that patch's mail and
// only the given entries (those the patch brings).
func (s *Session) Part(p *patch.Patch, entries []*Entry) *Session {
	v := *s
	v.Patch = p
	v.Entries = entries
	return &v
}

// WithPin returns a copy of pins with member m pinned to v, for a
// MemberStrategy's Pin: Options are values, and the caller's map stays as
// it was.
func WithPin[V any](pins map[string]V, m string, v V) map[string]V {
	out := maps.Clone(pins)
	if out == nil {
		out = map[string]V{}
	}
	out[m] = v
	return out
}
