// Package retype is the transform for a member whose type changes only by
// qualifiers and annotations that do not change its size, alignment,
// offset or the code that uses it: const on what a pointer points to,
// sparse's RCU and cast annotations (__rcu, __force). An address space
// added or removed (__user, __iomem, __percpu) is refused: the member then
// holds another kind of pointer, and existing objects hold the old kind.
// The old declaration stays in the header; the patched
// code compiles against it as it is (these qualifiers only narrow what
// code may do), and no function outside the patch changes.
//
// Before (upstream):	-	struct intel_vsec_platform_info *info;
//
//   - const struct intel_vsec_platform_info *info;
//
// After (rewritten):	the header keeps the old declaration.
//
// A member whose integer type changes only its signedness (s16 to u16)
// keeps its old declaration too, and every read of it, in every file the
// config builds that uses it, reads it through a cast to the new type: the
// functions whose code the new type changes (comparisons, divisions,
// widening) change in the livepatch as they do upstream, and the stored
// bits are the same either way. A macro that takes the member itself (an
// lvalue) gets no cast inside: READ_ONCE(obj->m) and smp_load_acquire(&obj->m)
// have their result cast, WRITE_ONCE(obj->m, v) and smp_store_release()
// store the same bits; a read that is another call's or macro's whole
// argument is cast only when the compiler accepts the rewritten file.
//
// A function-pointer member whose signature changes keeps its old
// declaration too: every call and every implementation changes upstream
// (so all are in the patch); the calls go through a cast to the new
// signature and the implementations are stored through (void *).
//
// A narrow unsigned flags word that upstream makes an unsigned long for the
// kernel's atomic bit operations keeps its old declaration too; the
// patched bit operations become ones of the old width (bitops.go).
//
// An integer member that becomes the kernel's wrapper of an integer of its
// size (int to atomic_t, long to atomic_long_t, atomic_t to refcount_t), or
// the reverse, keeps its old declaration, and every use becomes a use of
// the same storage as the new type, through a cast of its address
// (counter.go). An integer that becomes a narrower one keeps its width,
// and its uses convert (narrow.go). An unsigned integer that becomes a
// wider one takes the padding after it where the layout has some and
// every object starts zeroed, and its uses use that storage (widen.go).
//
// Other retypes (another size, another kind of type) are left to the
// engineer, with the step.
package retype

import (
	"fmt"
	"math"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the retype transform.
var Transform = &rewrite.Transform{
	Name:     "retype",
	Doc:      "a member whose type changes only by const or sparse annotations (__rcu, __force; not an address space: __user, __iomem, __percpu say it holds another kind of pointer) keeps its old declaration: layout and code stay, the patched code compiles against it; one whose integer type only changes signedness keeps it too, and every read is cast to the new type; a function pointer whose signature changes keeps it, and the patched calls cast it; a narrow flags word upstream makes an unsigned long for set_bit() and friends keeps its width, and the patched bit operations become ones of that width; an integer that becomes atomic_t, refcount_t, atomic64_t or atomic_long_t of its size (or the reverse) keeps it, and every use becomes one of the same storage as the new type; one that becomes a narrower integer keeps its width, and every use converts; an unsigned one that becomes wider takes the zeroed padding after it",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{rewrite.Layouts, sites.Creation},
	Run:      run,
}

// neutral are the words whose addition or removal changes neither the
// layout nor the code gcc generates for a member's uses.
var neutral = map[string]bool{
	"const": true, "__rcu": true, "__user": true, "__iomem": true, "__percpu": true, "__force": true,
	"__private": true, "__kernel": true, "__safe": true, "__nocast": true,
}

func run(p *rewrite.Pass) error {
	k := &kept{}
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MemberRetyped || ch.PreMember == nil || ch.PostMember == nil {
			continue
		}
		words, ok := onlyNeutral(ch.PreMember, ch.PostMember)
		if !ok {
			if from, to, ok := signedness(ch.PreMember, ch.PostMember); ok {
				retypeSign(p, k, e, from, to)
			} else if t := fnptrType(ch.PostMember); t != "" && fnptrType(ch.PreMember) != "" {
				retypeFnptr(p, k, e, t)
			} else if from, width, ok := narrowFlags(ch.PreMember, ch.PostMember); ok && retypeBitops(p, k, e, from, width) {
				// a flags word for the kernel's bit operations
			} else if from, to, ok := counterRetype(ch.PreMember, ch.PostMember); ok {
				retypeCounter(p, k, e, from, to)
			} else if from, to, ok := narrowing(ch.PreMember, ch.PostMember); ok {
				retypeNarrow(p, k, e, from, to)
			} else if from, to, ok := widening(ch.PreMember, ch.PostMember); ok {
				retypeWiden(p, k, e, from, to)
			}
			continue
		}
		if w := addressSpace(words); w != "" {
			// __percpu, __iomem, __user: the member now holds another
			// kind of pointer, and existing objects hold the old kind
			p.RefuseManual(e, fmt.Sprintf("the change (%s) says the member holds another kind of pointer (per-CPU, MMIO or user memory): objects that exist when the livepatch loads hold the old kind, which the patched code would use as the new one", w),
				"keep the old kind of pointer in the patched code, or convert what existing objects hold in a pre-patch callback")
			continue
		}
		cur, reverted, old, ok := oldDeclaration(p, e)
		if !ok {
			continue
		}
		if old == nil {
			p.RefuseManual(e, "the member's lines hold other changes too", "keep the member's old type in the header")
			continue
		}
		if !k.keep(p, e, cur, reverted) {
			continue
		}
		p.Resolve(e, fmt.Sprintf("the old declaration stays: the change (%s) neither moves nor resizes the member nor changes the code that uses it; the patched code compiles against the old type",
			strings.Join(words, ", ")))
	}
	return nil
}

// oldDeclaration returns the header's current text and that text with the
// member's declaration back as it was (and the old member in it); ok is
// false when the member cannot be found, old nil when its lines hold other
// changes too.
func oldDeclaration(p *rewrite.Pass, e *rewrite.Entry) (cur *ast.File, reverted []byte, old *ast.Member, ok bool) {
	ch := e.Change
	fc := p.ChangeOf(e.File)
	if fc == nil || fc.Post == nil {
		return nil, nil, nil, false
	}
	cur = p.Parse(e.File)
	mm := findMember(fc.Post, cur, ch)
	if mm == nil {
		return nil, nil, nil, false
	}
	reverted = gen.RevertLines(p.Original(e.File), cur.Src, gen.LinesOf(cur, mm.Decl))
	if m := findMember(fc.Post, ast.Parse(e.File, reverted), ch); m != nil && m.Type == ch.PreMember.Type {
		old = m
	}
	return cur, reverted, old, true
}

// keptUses is the start every use-rewriting retype shares: the header
// with the member's old declaration back, and every use of the member
// the compiler finds with that declaration renamed. It refuses the entry
// with step, and reports false, when either is not to be had.
func keptUses(p *rewrite.Pass, e *rewrite.Entry, step string) (cur *ast.File, reverted []byte, u *memberUses, ok bool) {
	cur, reverted, old, ok := oldDeclaration(p, e)
	if !ok {
		return nil, nil, nil, false
	}
	if old == nil {
		p.RefuseManual(e, "the member's lines hold other changes too", step)
		return nil, nil, nil, false
	}
	u, why := findUses(p, e, reverted, old)
	if why != "" {
		p.RefuseManual(e, why, step)
		return nil, nil, nil, false
	}
	return cur, reverted, u, true
}

// addressSpace returns the first of words that adds or removes a sparse
// address space (__percpu, __iomem, __user), or "".
func addressSpace(words []string) string {
	for _, w := range words {
		for _, as := range []string{"__percpu ", "__iomem ", "__user "} {
			if strings.HasPrefix(w, as) {
				return w
			}
		}
	}
	return ""
}

// onlyNeutral reports whether the two declarations differ only by neutral
// words, and which.
func onlyNeutral(a, b *ast.Member) ([]string, bool) {
	if strings.Join(a.Array, ",") != strings.Join(b.Array, ",") || a.Bits != b.Bits {
		return nil, false
	}
	strip := func(t string) (string, map[string]bool) {
		seen := map[string]bool{}
		var out []string
		for _, w := range strings.Fields(strings.ReplaceAll(t, "*", " * ")) {
			if neutral[w] {
				seen[w] = true
				continue
			}
			out = append(out, w)
		}
		return strings.Join(out, " "), seen
	}
	sa, wa := strip(a.Type)
	sb, wb := strip(b.Type)
	if sa != sb {
		return nil, false
	}
	var words []string
	for _, w := range []string{"const", "__rcu", "__user", "__iomem", "__percpu", "__force", "__private", "__kernel", "__safe", "__nocast"} {
		switch {
		case wb[w] && !wa[w]:
			words = append(words, w+" added")
		case wa[w] && !wb[w]:
			words = append(words, w+" removed")
		}
	}
	if len(words) == 0 {
		words = []string{"qualifiers reordered"}
	}
	return words, true
}

// findMember finds the changed member in f, a version of the header whose
// upstream post-image is post (the struct by occurrence, the member
// by name at any depth of anonymous nesting).
func findMember(post, f *ast.File, ch *change.Change) *ast.Member {
	var walk func(ms []*ast.Member) *ast.Member
	walk = func(ms []*ast.Member) *ast.Member {
		for _, m := range ms {
			if m.Name == ch.Member {
				return m
			}
			if m.Nested != nil && m.Name == "" {
				if x := walk(m.Nested.Members); x != nil {
					return x
				}
			}
		}
		return nil
	}
	s := change.SameStruct(post, ch.PostStruct, f)
	if s == nil {
		return nil
	}
	return walk(s.Members)
}

// kept are the old declarations one run puts back. Two retyped members in
// one diff hunk revert the same lines: the second proposes what the first
// already did, which is proposed once.
type kept struct{ done []edit.Edit }

// keep proposes the edits that put e's old declaration back (cur with the
// member's lines reverted), each once. It refuses the entry, and reports
// false, when one overlaps another member's edit without being the same.
func (k *kept) keep(p *rewrite.Pass, e *rewrite.Entry, cur *ast.File, reverted []byte) bool {
	eds := edit.Diff(e.File, cur.Src, reverted)
	var todo []edit.Edit
	for _, ed := range eds {
		same := false
		for _, d := range k.done {
			if d.File != ed.File {
				continue
			}
			if d.Off == ed.Off && d.End == ed.End && d.Text == ed.Text {
				same = true
				continue
			}
			pair := []edit.Edit{d, ed}
			edit.Sort(pair)
			if edit.Check(math.MaxInt, pair) == nil {
				continue // apart, as the driver sees edits
			}
			p.RefuseManual(e, "its declaration shares lines with another retyped member's change", "keep the members' old declarations in the header by hand")
			return false
		}
		if !same {
			todo = append(todo, ed)
		}
	}
	for _, ed := range todo {
		ed.Why, ed.Hazard = "old declaration kept", e.Hazard
		p.Edit(ed)
		k.done = append(k.done, ed)
	}
	return true
}
