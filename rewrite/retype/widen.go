package retype

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// widening reports whether a member's unsigned integer type becomes a
// wider integer type (u8 -> u16, unsigned int -> u64: an overflow fix),
// and the two types.
func widening(a, b *ast.Member) (string, string, bool) {
	from, to, ok := scalarTypes(a, b)
	if !ok {
		return "", "", false
	}
	ta, oka := intTypes[from]
	tb, okb := intTypes[to]
	if !oka || !okb || ta.signed || tb.size <= ta.size {
		return "", "", false
	}
	return from, to, true
}

// retypeWiden widens a member in place, over the padding after it, where
// the running kernel's layout leaves room: a u8 followed by padding up to
// the next aligned member becomes a u16 at the same offset. The old
// declaration stays in the header (the struct keeps its size, alignment
// and every offset), and every use the compiler finds, in every file the
// config builds, becomes a use of the same address as the wider type
// (counter.go's views): (*(u16 *)&obj->m). It is safe when
//
//   - the member's offset is aligned for the new type and the bytes the
//     new type adds are padding in the running kernel's layout (DWARF);
//   - every object of the struct starts zeroed and none is copied by
//     value (package sites), so the padding holds 0 in every object, and
//     x86 is little-endian: an object that exists when the livepatch loads
//     reads its old value zero-extended, which is the value an unsigned
//     old member held.
//
// Each file that uses the member gets static_asserts of the placement
// (aligned, and ending before the next member or the struct's end).
// Until every task runs the patched code, the running kernel's functions
// store the old width (the report says so).
func retypeWiden(p *rewrite.Pass, k *kept, e *rewrite.Entry, from, to string) {
	ch := e.Change
	step := fmt.Sprintf("keep %s and give the wider value room another way (a hole, a shadow variable), or convert at the use sites", from)
	key := structKind(ch) + " " + ch.Struct
	ls, err := rewrite.Layouts.Get(p, rewrite.StructRef{Header: e.File, Key: key})
	if err != nil {
		p.RefuseManual(e, "cannot read the layout: "+err.Error(), step)
		return
	}
	base := ls[0]
	bm, found := base.Member(ch.Member)
	if !found || bm.IsBitfield() {
		p.RefuseManual(e, "the running kernel's layout has no member "+ch.Member, step)
		return
	}
	size := int64(intTypes[to].size)
	if bm.Offset%size != 0 {
		p.RefuseManual(e, fmt.Sprintf("it is at byte %d of %s, not aligned for %s: the wider member cannot start where it is", bm.Offset, key, to), step)
		return
	}
	if !layout.InHole(base, bm.Offset+bm.Size, bm.Offset+size) {
		p.RefuseManual(e, fmt.Sprintf("bytes %d to %d of %s, which %s would take, are not padding in the running kernel's layout (holes: %s)", bm.Offset+bm.Size, bm.Offset+size-1, key, to, layout.HolesText(base)), step)
		return
	}
	z := sites.AllZeroed(p, e.File, ch.Struct)
	if z.Refusal != "" {
		p.RefuseManual(e, "the padding after it may hold other than 0 in objects that exist when the livepatch loads: "+z.Refusal, step)
		return
	}
	v, u, changed, ok := keptViews(p, k, e, from, to, step)
	if !ok {
		return
	}
	_, _, hi := layout.Anchors(key, base, bm.Offset, size)
	for _, f := range changed {
		pf := p.Parse(f)
		code := gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s is used as %s.", gen.Banner, key, ch.Member, to)},
			gen.Wrap(fmt.Sprintf(gen.Generated+" The running kernel's layout keeps it %s; the %s at its address takes the padding after it, which is 0 in every object.", from, to), 76)...)...) +
			gen.StaticAssert(fmt.Sprintf("offsetof(%s, %s) %% __alignof__(%s) == 0", key, ch.Member, to)) +
			gen.StaticAssert(fmt.Sprintf("offsetof(%s, %s) + sizeof(%s) <= %s", key, ch.Member, to, hi))
		at := gen.InsertionPoint(pf)
		p.Edit(edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, code)), Why: "placement of the wider member checked", Hazard: e.Hazard})
	}
	p.Resolve(e, fmt.Sprintf("the old declaration (%s) stays, and %s takes its place and the padding after it (bytes %d to %d of the running kernel's layout, 0 in every object: %s): the %d uses, found by the compiler over the %d files the config builds that use it (%s), use that storage as %s through a cast of its address, and every file that uses it compiles so: %s",
		from, to, bm.Offset, bm.Offset+size-1, z.Sites, v.count, u.compiled, u.method, to, strings.Join(changed, ", ")))
	p.Note(rewrite.Finding{File: e.File, Line: e.Line, Subject: e.Subject,
		Reason: fmt.Sprintf("objects that exist when the livepatch loads read their %s value zero-extended to %s (the padding after it is 0); until every task runs the patched code, the running kernel's functions store only the %s", from, to, from)})
}
