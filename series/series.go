// Package series rewrites the patches of a series in order, each on top of
// the tree as the patches before it leave it. Patch k is rewritten as part
// of the cumulative upstream change 1..k (so it may touch what an earlier
// patch changed, and shared rewrites stay consistent); what is written for
// it is the difference between the rewritten trees after k-1 and after k,
// so the rewritten series applies in order on the tree.
package series

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/tree"
)

// InputError is a patch that does not apply to the tree (or on top of the
// patches before it): bad input, not a failure of kprewrite.
type InputError struct {
	Err error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Rewriter carries the state of a series being rewritten: the tree as the
// upstream patches leave it, and as the rewritten ones leave it.
type Rewriter struct {
	env        *kbuild.Env
	opt        rewrite.Options
	transforms []*rewrite.Transform
	upstream   *tree.Overlay        // tree + upstream patches so far
	rewritten  map[string][]byte    // post-images of the rewritten patches so far
	seen       map[string]bool      // findings already reported for an earlier patch
	applied    int                  // patches applied so far
	subjects   []string             // the patches so far, for cumulative mails
	placed     map[string]Placement // where cumulative steps so far keep new members
}

// New starts a series on env's tree, rewritten with transforms.
func New(env *kbuild.Env, opt rewrite.Options, transforms []*rewrite.Transform) *Rewriter {
	return &Rewriter{env: env, opt: opt, transforms: transforms, upstream: tree.NewOverlay(env.Tree),
		rewritten: map[string][]byte{}, seen: map[string]bool{}, placed: map[string]Placement{}}
}

// RewriteSet rewrites every patch of a set in order and returns the
// rewritten patches, rendered. For each patch, report gets a view of its
// session that holds only the findings this patch brings (not those an
// earlier patch of the series already brought).
func (r *Rewriter) RewriteSet(set *patch.Set, report func(*rewrite.Session)) ([]byte, error) {
	var out bytes.Buffer
	for i, p := range set.Patches {
		if err := r.apply(set, i, p); err != nil {
			return nil, err
		}
		s, err := rewrite.Load(r.env, r.env.Tree, r.cumulative(p), r.opt)
		if err != nil {
			return nil, &InputError{err}
		}
		if err := s.Run(r.transforms); err != nil {
			s.Close()
			return nil, err
		}
		report(s.Part(p, r.fresh(s)))
		op := r.advance(s, p)
		s.Close()
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n\n")) && p.Mail != nil {
			out.WriteString("\n")
		}
		out.Write(patch.Render(op, s.RenderOptions()))
	}
	return out.Bytes(), nil
}

// apply adds patch i of set to the upstream tree.
func (r *Rewriter) apply(set *patch.Set, i int, p *patch.Patch) error {
	res, err := p.Apply(r.upstream)
	if err != nil {
		if r.applied > 0 {
			return &InputError{fmt.Errorf("%w (applied on top of the %d patches before it in the series)", err, r.applied)}
		}
		return &InputError{err}
	}
	r.applied++
	for _, fr := range res {
		if fr.New == nil {
			r.upstream.Delete(fr.Path)
		} else {
			r.upstream.Set(fr.Path, fr.New)
		}
	}
	return nil
}

// cumulative returns the upstream change so far as one patch on the tree,
// with p's mail.
func (r *Rewriter) cumulative(p *patch.Patch) *patch.Patch {
	cum := &patch.Patch{Mail: p.Mail}
	for _, f := range r.upstream.Changed() {
		var old []byte
		if r.env.Tree.Exists(f) {
			old, _ = r.env.Tree.ReadFile(f)
		}
		var nw []byte
		if !r.upstream.Deleted(f) {
			nw, _ = r.upstream.ReadFile(f)
		}
		if d := patch.Diff(f, old, nw); d != nil {
			cum.Files = append(cum.Files, d)
		}
	}
	return cum
}

// fresh returns the entries of s no earlier patch reported as they stand
// now: a finding an earlier patch reported resolved that this patch's
// change leaves unresolved (or resolved another way) is reported again,
// so a later patch cannot undo an earlier rewrite unseen.
func (r *Rewriter) fresh(s *rewrite.Session) []*rewrite.Entry {
	var out []*rewrite.Entry
	for _, e := range s.Entries {
		key := e.File + "\x00" + string(e.Kind) + "\x00" + e.Subject + "\x00" + e.ResolvedBy + "\x00" + e.Action
		if !r.seen[key] {
			r.seen[key] = true
			out = append(out, e)
		}
	}
	return out
}

// advance returns this patch's part, the rewritten tree after k-1 against
// the one after k, and moves the series on to k.
func (r *Rewriter) advance(s *rewrite.Session, p *patch.Patch) *patch.Patch {
	op := &patch.Patch{Mail: p.Mail}
	files := map[string]bool{}
	for f := range r.rewritten {
		files[f] = true
	}
	for _, f := range s.Touched() {
		files[f] = true
	}
	next := map[string][]byte{}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		now := s.File(f)
		if _, ok := s.Current[f]; !ok {
			now = s.Original(f)
		}
		if s.Dropped(f) {
			now = nil // a new file a transform emptied is not created
		}
		before, ok := r.rewritten[f]
		if !ok {
			before = s.Original(f)
		}
		next[f] = now
		if before == nil && now == nil {
			continue
		}
		if d := patch.Diff(f, before, now); d != nil {
			if before != nil {
				d.OldPath = f
			}
			op.Files = append(op.Files, d)
		}
	}
	r.rewritten = next
	return op
}
