// Package hole is the transform for a new member that fits in a hole or the
// tail padding of its struct: the size, alignment and every member offset
// stay, the header stays untouched, and the patched code reaches the bytes
// through a generated pointer accessor anchored on a named neighbour member
// and guarded by static_assert.
//
// Before (header):	int delay; ... u32 enslave_seq;	(at the end: the struct grows)
// After (.c):		#define SLAVE_ENSLAVE_SEQ_OFFSET offsetofend(struct slave, delay)
//
//	(*slave_enslave_seq_ptr(slave)) = seq;
//
// It is only used when it is safe: every place that creates an object of
// the struct zeroes it (kzalloc, kmem_cache_zalloc, memset, an initializer,
// static storage) and nothing on the creation path assigns the member
// (sites.CreationValue), so the 0 that objects existing before the
// livepatch read is what upstream creation would have given them (a hole
// has no "not yet set" state: otherwise the member falls through to the
// shadow transform), and nothing copies the struct by value (old code
// would drop the member).
// Creation sites are found with the compiler (package sites). Otherwise the
// member is left for the shadow transform, and the report says why.
package hole

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the hole transform.
var Transform = &rewrite.Transform{
	Name:     "hole",
	Doc:      "a new member that fits in a hole or the tail padding of a struct whose objects all start zeroed is kept there, behind a guarded pointer accessor",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{rewrite.Layouts, sites.Creation},
	Member: &rewrite.MemberStrategy{
		Use: "hole",
		// zeroed bytes are not a valid lock or list head: those need a constructor (shadow)
		Takes: func(ch *change.Change) bool {
			return !ch.PostMember.IsBitfield() && len(ch.PostMember.Array) == 0 && ch.PostMember.Macro == "" &&
				!member.NeedsInit(ch.PostMember.Type)
		},
		Pin: func(opt rewrite.Options, m, where string) rewrite.Options {
			var off int64
			if n, err := fmt.Sscanf(where, "hole: byte %d,", &off); err == nil && n == 1 {
				opt.HoleOffsets = rewrite.WithPin(opt.HoleOffsets, m, off)
			}
			return opt
		},
		Keeps: func(m, where string) string {
			return fmt.Sprintf("%s in the objects themselves (%s), at the same place", m, where)
		},
	},
	Run: run,
}

type placement struct {
	off, size  int64
	typ        string
	anchor, hi string
	lo         string
	sites      string
}

func run(p *rewrite.Pass) error {
	cands := member.Candidates(p)
	// Members an earlier livepatch of a cumulative series placed take their
	// bytes first, so a new member never takes them.
	pinned := func(m *member.Member) bool { _, ok := p.Options.HoleOffsets[m.Key+"."+m.Name]; return ok }
	slices.SortStableFunc(cands, func(a, b *member.Member) int {
		switch {
		case pinned(a) && !pinned(b):
			return -1
		case pinned(b) && !pinned(a):
			return 1
		}
		return 0
	})
	used := map[string][][2]int64{}           // struct -> byte ranges taken by earlier members
	siteCache := map[string]sites.ZeroProof{} // struct -> whether every object starts zeroed
	var ok []*member.Member
	places := map[*member.Member]*placement{}
	for _, m := range cands {
		ls, err := rewrite.Layouts.Get(p, rewrite.StructRef{Header: m.Header, Key: m.Key})
		base, up := ls[0], ls[1]
		if err != nil {
			p.Refuse(m.Entry, "cannot read the layout: "+err.Error())
			continue
		}
		nm, found := up.Member(m.Name)
		if !found {
			p.Refuse(m.Entry, "the upstream layout has no "+m.Name)
			continue
		}
		want, isPinned := p.Options.HoleOffsets[m.Key+"."+m.Name]
		if !isPinned {
			want = -1
		}
		pl := fit(m.Key, base, nm, used[m.Key], want)
		if pl == nil && isPinned {
			p.Refuse(m.Entry, fmt.Sprintf("an earlier livepatch of the series keeps it at byte %d, where %d bytes aligned to %d no longer fit (holes: %s)",
				want, nm.Size, nm.Align, layout.HolesText(base)))
			continue
		}
		if pl == nil {
			p.Refuse(m.Entry, fmt.Sprintf("no hole or tail padding of struct %s holds %d bytes aligned to %d (holes: %s)",
				member.TagOf(m.Key), nm.Size, nm.Align, layout.HolesText(base)))
			continue
		}
		z, seen := siteCache[m.Key]
		if !seen {
			z = sites.AllZeroed(p, m.Header, member.TagOf(m.Key))
			siteCache[m.Key] = z
		}
		if z.Refusal != "" {
			p.Refuse(m.Entry, z.Refusal)
			continue
		}
		// a hole has no "not yet set" state: existing objects read 0, so
		// 0 must be what upstream creation gives the member
		v := sites.CreationValue(p, m.Header, member.TagOf(m.Key), m.Name)
		if !v.Zero {
			p.Refuse(m.Entry, "objects that exist before the livepatch would read 0 from the hole, and 0 is not proven to be what upstream creation gives the member: "+v.Evidence)
			continue
		}
		pl.sites = "the zero default is proven right: " + v.Evidence
		if v.Decision != "" {
			pl.sites = fmt.Sprintf("the engineer decided they read 0 (--existing %q): not proven by kprewrite", v.Decision)
		} else if v.Later != "" {
			pl.sites = "0 is what upstream creation gives the member (" + v.Evidence + "), and " + v.Later +
				"; every read upstream makes is new code, where such an object holds the 0 an upstream object holds before that write"
			m.Check, m.Confirm = sites.LaterReads(p, m.Header, m.Name, v, "the hole")
		}
		pl.typ = strings.TrimSpace(m.Change.PostMember.Type)
		used[m.Key] = append(used[m.Key], [2]int64{pl.off, pl.off + pl.size})
		places[m] = pl
		tag := member.TagOf(m.Key)
		m.Ptr = p.UniqueName(tag + "_" + m.Name + "_ptr")
		m.Code = accessor(m, pl)
		ok = append(ok, m)
	}
	applied, refused := member.Apply(p, ok)
	for m, why := range refused {
		p.Refuse(m.Entry, why)
	}
	for _, m := range applied {
		pl := places[m]
		p.Resolve(m.Entry, fmt.Sprintf("kept in the %d bytes at %s (byte %d), unused in the running kernel's layout; %d uses in %s go through %s()",
			pl.size, pl.anchor, pl.off, m.Uses, strings.Join(m.Files, ", "), m.Ptr))
		m.Entry.Placement = fmt.Sprintf("hole: byte %d, %d bytes", pl.off, pl.size)
		p.Note(rewrite.Finding{File: m.Header, Line: m.Entry.Line, Subject: m.Key + "." + m.Name,
			Reason: fmt.Sprintf("objects that exist when the livepatch loads read 0, and %s; nothing copies the struct by value", pl.sites)})
	}
	return nil
}

// fit finds the first hole that holds the member at its alignment; at
// byte want only, when want is not negative.
func fit(key string, base *layout.Struct, nm layout.Member, taken [][2]int64, want int64) *placement {
	if nm.Size <= 0 {
		return nil
	}
	align := nm.Align
	if align <= 0 {
		align = 1
	}
	for _, h := range layout.Holes(base) {
		for off := (h[0] + align - 1) / align * align; off+nm.Size <= h[1]; off += align {
			clash := false
			for _, t := range taken {
				if off < t[1] && t[0] < off+nm.Size {
					clash = true
				}
			}
			if clash || (want >= 0 && off != want) {
				continue
			}
			pl := &placement{off: off, size: nm.Size}
			pl.anchor, pl.lo, pl.hi = layout.Anchors(key, base, off, nm.Size)
			return pl
		}
	}
	return nil
}

// accessor generates the offset macro, the guards and the pointer accessor.
func accessor(m *member.Member, pl *placement) string {
	tag := member.TagOf(m.Key)
	macro := strings.ToUpper(tag + "_" + m.Name + "_OFFSET")
	ptrType := pl.typ + " *"
	if strings.HasSuffix(pl.typ, "*") {
		ptrType = pl.typ + "*"
	}
	var b strings.Builder
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s in a hole.", gen.Banner, m.Key, m.Name)},
		gen.Wrap(fmt.Sprintf(gen.Generated+" %s has no %s in the running kernel and must keep its layout: the member lives in the %s at %s. Every object of the struct starts zeroed, so objects created before the livepatch read 0.",
			m.Key, m.Name, unusedBytes(pl.size), pl.anchor), 76)...)...))
	fmt.Fprintf(&b, "#define %s\t%s\n\n", macro, pl.anchor)
	if pl.lo != "" {
		b.WriteString(gen.StaticAssert(fmt.Sprintf("%s >= %s", macro, pl.lo)))
	}
	b.WriteString(gen.StaticAssert(fmt.Sprintf("%s + sizeof(%s) <= %s", macro, pl.typ, pl.hi)))
	b.WriteString(gen.StaticAssert(fmt.Sprintf("%s %% __alignof__(%s) == 0", macro, pl.typ)))
	fmt.Fprintf(&b, "\nstatic inline %s%s(const %s *s)\n{\n", ptrType, m.Ptr, m.Key)
	fmt.Fprintf(&b, "\treturn (void *)s + %s;\n}\n", macro)
	return b.String()
}

// unusedBytes says how many unused bytes a hole has, in words.
func unusedBytes(n int64) string {
	if n == 1 {
		return "unused byte"
	}
	return fmt.Sprintf("%d unused bytes", n)
}
