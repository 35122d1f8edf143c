// Package bitfield is the transform for a new bitfield that fits in the
// unused bits of an existing storage unit: the struct keeps its layout, the
// member stays out of the header, and the patched code reads and writes
// those bits through generated accessors guarded by static_assert.
//
// Before (header):	u8 backup:1, inactive:1, should_notify:1, should_notify_link:1;
// After (header):	u8 backup:1, inactive:1, should_notify:1;
// After (.c):		slave_set_should_notify_link(slave, 0);
//
//	if (slave_get_should_notify_link(slave)) ...
//
// Where the bit goes is what the compiler decides for the upstream struct:
// kprewrite compiles a user of the header with and without the upstream
// change and reads both layouts from DWARF. The member fits when every
// existing member keeps its offset and the size and alignment stay.
// Without a configured tree it falls back to the C layout rules for u8
// units and refuses when #if-guarded members make the position depend on
// the config.
package bitfield

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the bitfield transform.
var Transform = &rewrite.Transform{
	Name:     "bitfield",
	Doc:      "a new bitfield that fits in spare bits of an existing storage unit is kept out of the struct and reached through generated accessors",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{rewrite.Layouts, sites.Creation},
	Member: &rewrite.MemberStrategy{
		Use:   "bitfield in spare bits",
		Takes: func(ch *change.Change) bool { return ch.PostMember.IsBitfield() },
		Keeps: func(m, where string) string {
			return fmt.Sprintf("%s in the objects themselves (%s), at the same place", m, where)
		},
	},
	Run: run,
}

// placement is where the new bits live.
type placement struct {
	bit, width int64  // absolute bit offset and width
	typ        string // declared type of the member
	unitSize   int64  // bytes of the access unit
	unitOff    int64  // byte offset of the access unit
	shift      int64  // bit offset inside the unit
	anchor     string // C expression for unitOff
	hi         string // C expression the unit must end before
	lo         string // C expression the unit must start at or after ("" = anchor is the start)
	neighbours []string
	how        string
	zero       string // why the value existing objects read is right
	xor        int64  // the bits hold the value XOR this (what zeroed bits read)
}

// constantIn reads expr as a constant the bitfield holds, other than 0.
func constantIn(expr string, pl *placement) (int64, bool) {
	e := strings.TrimSpace(strings.Trim(strings.TrimSpace(expr), "()"))
	var n int64
	switch {
	case e == "true":
		n = 1
	case e == "" || e == "false":
		return 0, false
	default:
		v, err := strconv.ParseInt(strings.TrimRight(e, "uUlL"), 0, 64)
		if err != nil {
			return 0, false
		}
		n = v
	}
	if n <= 0 || pl.width >= 63 || n >= int64(1)<<pl.width {
		return 0, false
	}
	return n, true
}

// neutralValue asks the compiler, once every use of m is known, for the
// value with which the patched code treats objects that hold no value as
// the running kernel's code does (sites.Neutral, among the values the
// width holds): zeroed bits then read it, through the XOR. Without one
// the member is refused as before: 0 is not proven.
func neutralValue(p *rewrite.Pass, m *member.Member, pl *placement, v sites.Value) {
	var reads []sites.Use
	m.Check = func(file string, a *cexpr.Access) string {
		if a.Kind != cexpr.Assign && a.Kind != cexpr.Designator && a.Kind != cexpr.SizeOf {
			reads = append(reads, sites.Use{File: file, Access: a})
		}
		return ""
	}
	m.Confirm = func() string {
		refused := "objects that exist before the livepatch would read 0 from the spare bits, and 0 is not proven to be what upstream creation gives the member: " + v.Evidence
		if len(reads) == 0 {
			pl.zero = "the patched code never reads the member"
			m.Code = accessors(m, pl)
			return ""
		}
		cands := []string{"0", "1"}
		if pl.width > 1 {
			cands = append(cands, fmt.Sprintf("0x%x", uint64(1)<<uint(pl.width)-1))
		}
		n, err := sites.NeutralAmong(p, m.Header, pl.typ, reads, cands)
		if err != nil {
			// a failure of the environment, recorded: the run stops
			return "the compiler could not answer what objects created before the livepatch may read: " + err.Error()
		}
		if !n.Known() {
			return refused + "; " + n.Evidence
		}
		pl.zero = "what upstream creation gives the member is not known (" + v.Evidence + "), and " + n.Evidence +
			"; objects created after the load read it too until the patched code sets the member"
		if !n.Zero {
			pl.xor, _ = constantIn(n.Expr, pl)
			if why := resetsRead(p, m, pl.xor); why != "" {
				return why
			}
		}
		m.Code = accessors(m, pl)
		return ""
	}
}

// resetsRead says why bits holding the value XOR x cannot stand for the
// member when code clears objects with memset outside their creation:
// upstream reads 0 after such a reset, the bits would give x.
func resetsRead(p *rewrite.Pass, m *member.Member, x int64) string {
	rs, err := sites.Resets(p, m.Header, member.TagOf(m.Key))
	if err != nil {
		return "the memsets of the struct are not known: " + err.Error()
	}
	if len(rs) > 0 {
		return fmt.Sprintf("the bits would hold the value XOR %d, and %s clears objects with memset (upstream they then read 0, the bits would give %d)", x, strings.Join(rs, ", "), x)
	}
	return ""
}

func run(p *rewrite.Pass) error {
	cands := member.Candidates(p)
	var ok []*member.Member
	places := map[*member.Member]*placement{}
	zeroed := map[string]sites.ZeroProof{} // struct -> whether every object starts zeroed
	for _, m := range cands {
		pl, why := place(p, m)
		if pl == nil {
			p.Refuse(m.Entry, why)
			continue
		}
		// spare bits have no "not yet set" state: existing objects read
		// the old bits, 0 when every object starts zeroed, so the bits
		// hold the value XOR what those objects must read: what upstream
		// creation gives the member, or else the value with which the
		// patched code treats them as the running kernel does
		pl.zero = "what upstream creation gives the member was not checked (no configured tree)"
		tag := member.TagOf(m.Key)
		m.Getter = p.UniqueName(tag + "_get_" + m.Name)
		m.Setter = p.UniqueName(tag + "_set_" + m.Name)
		if p.HasCompiler() {
			// bits the running kernel's code never writes hold what the
			// object was made with: 0 only in objects made zeroed
			z, seen := zeroed[m.Key]
			if !seen {
				z = sites.AllZeroed(p, m.Header, tag)
				zeroed[m.Key] = z
			}
			if z.Refusal != "" {
				p.Refuse(m.Entry, "the spare bits of objects made before the livepatch are not proven clear: "+z.Refusal)
				continue
			}
			v := sites.CreationValue(p, m.Header, tag, m.Name)
			n, constant := constantIn(v.Expr, pl)
			constant = constant && !ast.SignedType(pl.typ)
			reset := ""
			if constant {
				reset = resetsRead(p, m, n)
			}
			switch {
			case v.Zero:
				pl.zero = "the zero default is proven right: " + v.Evidence
				if v.Decision != "" {
					pl.zero = fmt.Sprintf("the engineer decided they read 0 (--existing %q): not proven by kprewrite", v.Decision)
				} else if v.Later != "" {
					pl.zero = "0 is what upstream creation gives the member (" + v.Evidence + "), and " + v.Later +
						"; every read upstream makes is new code, where such an object holds the 0 an upstream object holds before that write"
					m.Check, m.Confirm = sites.LaterReads(p, m.Header, m.Name, v, "the spare bits")
				}
			case reset != "":
				p.Refuse(m.Entry, reset)
				continue
			case constant:
				pl.xor = n
				pl.zero = fmt.Sprintf("upstream creation gives the member %s (%s)", v.Expr, v.Evidence)
				if v.Decision != "" {
					pl.zero = fmt.Sprintf("the engineer decided they read %s (--existing %q): not proven by kprewrite", v.Expr, v.Decision)
				}
			case ast.SignedType(pl.typ):
				p.Refuse(m.Entry, "objects that exist before the livepatch would read 0 from the spare bits, and 0 is not proven to be what upstream creation gives the member: "+v.Evidence)
				continue
			default:
				neutralValue(p, m, pl, v)
			}
		}
		places[m] = pl
		m.Code = accessors(m, pl)
		ok = append(ok, m)
	}
	applied, refused := member.Apply(p, ok)
	for m, why := range refused {
		pl := places[m]
		p.Refuse(m.Entry, fmt.Sprintf("the member fits in bit %d of the unit at %s (%s), but %s", pl.shift, pl.anchor, pl.how, why))
	}
	for _, m := range applied {
		pl := places[m]
		p.Resolve(m.Entry, fmt.Sprintf("kept in bit %d of the %d-byte unit at %s (byte %d), unused in the running kernel's layout (%s); %d uses in %s go through %s()/%s()",
			pl.shift, pl.unitSize, pl.anchor, pl.unitOff, pl.how, m.Uses, strings.Join(m.Files, ", "), m.Getter, m.Setter))
		m.Entry.Placement = fmt.Sprintf("spare bits: bit %d of the %d-byte unit at byte %d", pl.shift, pl.unitSize, pl.unitOff)
		reads := "0, and " + pl.zero
		if pl.xor != 0 {
			reads = fmt.Sprintf("0, which the accessors give as %d (the bits hold the value XOR %d): %s", pl.xor, pl.xor, pl.zero)
		}
		p.Note(rewrite.Finding{File: m.Header, Line: m.Entry.Line, Subject: m.Key + "." + m.Name,
			Reason: fmt.Sprintf("objects that exist when the livepatch loads read the old content of bit %d of byte %d, which the original code never writes: %s", pl.shift, pl.unitOff, reads),
		})
	}
	return nil
}

// place finds the bit position, from DWARF when the tree is configured.
func place(p *rewrite.Pass, m *member.Member) (*placement, string) {
	decl := m.Change.PostMember
	if p.Env.Config != nil && p.Env.Config.Tristate("CPU_BIG_ENDIAN") == "y" {
		return nil, "big-endian bitfield order is not handled: the kernel is configured big-endian"
	}
	if p.HasCompiler() {
		ls, err := rewrite.Layouts.Get(p, rewrite.StructRef{Header: m.Header, Key: m.Key})
		base, up := ls[0], ls[1]
		if err != nil {
			return nil, "cannot read the layout: " + err.Error()
		}
		return fromDWARF(m, decl, base, up)
	}
	return fromRules(p, m, decl)
}

func fromDWARF(m *member.Member, decl *ast.Member, base, up *layout.Struct) (*placement, string) {
	nm, ok := up.Member(m.Name)
	if !ok || !nm.IsBitfield() {
		return nil, "the upstream layout has no bitfield " + m.Name
	}
	if base.Size != up.Size || base.Align != up.Align {
		return nil, fmt.Sprintf("no spare bits: the upstream struct grows (size %d -> %d, alignment %d -> %d)", base.Size, up.Size, base.Align, up.Align)
	}
	var moved []layout.Member // bitfields the upstream change moves within their group
	for _, bm := range base.Members {
		um, ok := up.Member(bm.Name)
		if ok && bm.IsBitfield() && um.IsBitfield() && um.BitSize == bm.BitSize && um.Size == bm.Size {
			if um.BitOffset != bm.BitOffset {
				moved = append(moved, bm)
			}
			continue
		}
		if !ok || um.BitOffset != bm.BitOffset || um.BitSize != bm.BitSize || um.Offset != bm.Offset {
			return nil, fmt.Sprintf("no spare bits: the upstream change moves %s", bm.Name)
		}
	}
	how := "read from DWARF of the configured build"
	if len(moved) > 0 {
		// Upstream inserts the bit in the middle of its group and moves the
		// bits after it: the new bit goes into a spare bit of the group's
		// storage units instead, and every existing bit stays.
		bit, ok := spareBit(base, nm, moved)
		if !ok {
			return nil, fmt.Sprintf("no spare bits: the upstream change moves %s, and the storage units of %s have no %d free bits in one %d-byte unit",
				moved[0].Name, names(moved), nm.BitSize, nm.Size)
		}
		how = fmt.Sprintf("a spare bit of the group in the running kernel's layout, read from DWARF: upstream puts it at bit %d and moves %s", nm.BitOffset, names(moved))
		nm.BitOffset = bit
	}
	// The bits must not overlap anything in the base layout.
	for _, bm := range base.Members {
		start, end := bm.Offset*8, (bm.Offset+bm.Size)*8
		if bm.IsBitfield() {
			start, end = bm.BitOffset, bm.BitOffset+bm.BitSize
		}
		if strings.Contains(bm.Name, ".") {
			continue
		}
		if nm.BitOffset < end && start < nm.BitOffset+nm.BitSize {
			return nil, fmt.Sprintf("the new bits would overlap %s", bm.Name)
		}
	}
	pl := &placement{bit: nm.BitOffset, width: nm.BitSize, typ: decl.Type, how: how}
	pl.unitSize = accessUnit(nm.BitOffset, nm.BitSize)
	pl.unitOff = nm.BitOffset / 8 / pl.unitSize * pl.unitSize
	pl.shift = nm.BitOffset - pl.unitOff*8
	pl.anchor, pl.lo, pl.hi = layout.Anchors(m.Key, base, pl.unitOff, pl.unitSize)
	for _, bm := range base.Members {
		if bm.IsBitfield() && bm.BitOffset/8 < pl.unitOff+pl.unitSize && (bm.BitOffset+bm.BitSize+7)/8 > pl.unitOff {
			pl.neighbours = append(pl.neighbours, bm.Name)
		}
	}
	if len(pl.neighbours) > 0 {
		pl.how += "; " + strings.Join(pl.neighbours, ", ") + " share the unit"
	}
	return pl, ""
}

// spareBit finds bits for nm that no member of base uses, inside the
// storage units (of nm's type size) that hold the moved bitfields or nm's
// upstream position, without crossing a unit boundary: the lowest such
// position.
func spareBit(base *layout.Struct, nm layout.Member, moved []layout.Member) (int64, bool) {
	unit := max(nm.Size, 1) * 8
	lo, hi := nm.BitOffset/unit*unit, (nm.BitOffset+nm.BitSize+unit-1)/unit*unit
	for _, m := range moved {
		lo = min(lo, m.BitOffset/unit*unit)
		hi = max(hi, (m.BitOffset+m.BitSize+unit-1)/unit*unit)
	}
	hi = min(hi, base.Size*8)
	used := func(b int64) bool {
		for _, m := range base.Members {
			if strings.Contains(m.Name, ".") {
				continue
			}
			start, end := m.Offset*8, (m.Offset+m.Size)*8
			if m.IsBitfield() {
				start, end = m.BitOffset, m.BitOffset+m.BitSize
			}
			if b >= start && b < end {
				return true
			}
		}
		return false
	}
	for b := lo; b+nm.BitSize <= hi; b++ {
		if b/unit != (b+nm.BitSize-1)/unit {
			continue
		}
		free := true
		for k := b; k < b+nm.BitSize && free; k++ {
			free = !used(k)
		}
		if free {
			return b, true
		}
	}
	return 0, false
}

func names(ms []layout.Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, ", ")
}

// accessUnit returns the smallest naturally aligned unit (1, 2, 4 or 8
// bytes) that holds the bits.
func accessUnit(bit, width int64) int64 {
	for _, sz := range []int64{1, 2, 4, 8} {
		if bit/(8*sz) == (bit+width-1)/(8*sz) {
			return sz
		}
	}
	return 8
}

var byteTypes = map[string]bool{"u8": true, "s8": true, "__u8": true, "__s8": true, "unsigned char": true, "signed char": true, "char": true, "bool": true, "_Bool": true}

// fromRules places the bit with the C layout rules for one-byte units, when
// no compiler is available.
func fromRules(p *rewrite.Pass, m *member.Member, decl *ast.Member) (*placement, string) {
	s := m.Change.PostStruct
	ms := s.Members
	idx := -1
	for i, x := range ms {
		if x == decl {
			idx = i
		}
	}
	if idx < 0 {
		return nil, "the member is inside a nested aggregate; give --config to read its layout"
	}
	isNew := func(x *ast.Member) bool {
		for _, e := range p.Entries {
			if e.Change != nil && e.Change.Kind == change.MemberAdded && e.Change.PostMember == x {
				return true
			}
		}
		return false
	}
	// the run of consecutive bitfields holding the member
	lo, hi := idx, idx
	for lo > 0 && ms[lo-1].IsBitfield() {
		lo--
	}
	for hi+1 < len(ms) && ms[hi+1].IsBitfield() {
		hi++
	}
	bits := int64(0)
	for i := lo; i < idx; i++ {
		x := ms[i]
		if !byteTypes[x.Type] {
			return nil, fmt.Sprintf("the %s unit's position needs the compiler: give --config", x.Type)
		}
		switch p.Env.Config.EvalCond(x.Cond) {
		case kbuild.TriUnknown:
			return nil, fmt.Sprintf("the bit position depends on the config (%s is under #if %s): give --config", x.Name, x.Cond)
		case kbuild.False:
			continue
		}
		if isNew(x) {
			continue
		}
		w, ok := member.BitWidth(x.Bits)
		if !ok {
			return nil, fmt.Sprintf("bitfield width %q is not a number: give --config", x.Bits)
		}
		bits += w
	}
	w, ok := member.BitWidth(decl.Bits)
	if !ok || !byteTypes[decl.Type] {
		return nil, fmt.Sprintf("%s %s:%s needs the compiler to place it: give --config", decl.Type, decl.Name, decl.Bits)
	}
	// earlier new members of the same run take their bits first
	for i := lo; i < idx; i++ {
		if isNew(ms[i]) {
			w2, _ := member.BitWidth(ms[i].Bits)
			bits += w2
		}
	}
	if bits+w > 8 {
		return nil, fmt.Sprintf("no spare bits: the unit holds %d bits and the new member needs %d more", bits, w)
	}
	key := m.Key
	pl := &placement{width: w, typ: decl.Type, unitSize: 1, shift: bits, how: "placed by the C layout rules (no configured build)"}
	if lo == 0 {
		pl.anchor = "0"
	} else {
		pl.anchor = fmt.Sprintf("offsetofend(%s, %s)", key, ms[lo-1].Name)
	}
	next := hi + 1
	for next < len(ms) && isNew(ms[next]) {
		next++
	}
	if next < len(ms) && ms[next].Name != "" {
		pl.hi = fmt.Sprintf("offsetof(%s, %s)", key, ms[next].Name)
	} else {
		pl.hi = fmt.Sprintf("sizeof(%s)", key)
	}
	for i := lo; i <= hi; i++ {
		if !isNew(ms[i]) {
			pl.neighbours = append(pl.neighbours, ms[i].Name)
		}
	}
	pl.unitOff = -1
	return pl, ""
}

var unitTypes = map[int64]string{1: "u8", 2: "u16", 4: "u32", 8: "u64"}

// accessors generates the unit/shift/mask macros, the layout guard and
// the accessors of m.
func accessors(m *member.Member, pl *placement) string {
	tag := member.TagOf(m.Key)
	prefix := strings.ToUpper(tag + "_" + m.Name)
	unitM, shiftM, maskM := prefix+"_UNIT", prefix+"_SHIFT", prefix+"_MASK"
	unit := unitTypes[pl.unitSize]
	typ := member.FullIntType(pl.typ)
	isBool := typ == "bool" || typ == "_Bool"
	signed := ast.SignedType(typ)
	bits := fmt.Sprintf("bit %d", pl.shift)
	if pl.width > 1 {
		bits = fmt.Sprintf("bits %d-%d", pl.shift, pl.shift+pl.width-1)
	}
	holders := "no other member uses"
	switch len(pl.neighbours) {
	case 0:
	case 1:
		holders = "the bitfield " + pl.neighbours[0] + " there does not use"
	default:
		holders = "the bitfields " + strings.Join(pl.neighbours, ", ") + " there do not use"
	}
	xorText := ""
	if pl.xor != 0 {
		xorText = fmt.Sprintf(" The bits hold the value XOR %d: objects made before the livepatch have them clear and read %d.", pl.xor, pl.xor)
	}
	var b strings.Builder
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s in spare bits.", gen.Banner, m.Key, m.Name)},
		gen.Wrap(fmt.Sprintf(gen.Generated+" %s has no %s in the running kernel and must keep its layout: the member lives in %s of the %s unit at %s, which %s.%s",
			m.Key, m.Name, bits, unit, pl.anchor, holders, xorText), 76)...)...))
	fmt.Fprintf(&b, "#define %s\t%s\n", unitM, pl.anchor)
	fmt.Fprintf(&b, "#define %s\t%d\n", shiftM, pl.shift)
	fmt.Fprintf(&b, "#define %s\t0x%x\n", maskM, uint64(1)<<uint(pl.width)-1)
	xorM := ""
	if pl.xor != 0 {
		// zeroed bits (objects made before the livepatch) read pl.xor
		xorM = prefix + "_XOR"
		fmt.Fprintf(&b, "#define %s\t0x%x\n", xorM, pl.xor)
	}
	b.WriteString("\n")
	if pl.lo != "" {
		b.WriteString(gen.StaticAssert(fmt.Sprintf("%s >= %s", unitM, pl.lo)))
	}
	b.WriteString(gen.StaticAssert(fmt.Sprintf("%s + sizeof(%s) <= %s", unitM, unit, pl.hi)))
	b.WriteString("\n")
	// getter
	fmt.Fprintf(&b, "static inline %s %s(const %s *s)\n{\n", member.ReadType(typ, pl.width), m.Getter, m.Key)
	fmt.Fprintf(&b, "\tconst %s *unit = (const void *)s + %s;\n", unit, unitM)
	switch {
	case signed:
		vt, ll := "int", ""
		if pl.width > 31 {
			vt, ll = "s64", "LL"
		}
		fmt.Fprintf(&b, "\t%s val = (*unit >> %s) & %s;\n\n", vt, shiftM, maskM)
		fmt.Fprintf(&b, "\treturn val & 0x%x%s ? val - 0x%x%s : val;\n", uint64(1)<<uint(pl.width-1), ll, uint64(1)<<uint(pl.width), ll)
	case xorM != "":
		fmt.Fprintf(&b, "\n\treturn ((*unit >> %s) & %s) ^ %s;\n", shiftM, maskM, xorM)
	default:
		fmt.Fprintf(&b, "\n\treturn (*unit >> %s) & %s;\n", shiftM, maskM)
	}
	b.WriteString("}\n\n")
	// setter
	v := "val"
	if isBool {
		v = "(val ? 1 : 0)"
	}
	fmt.Fprintf(&b, "static inline void %s(%s *s, %s val)\n{\n", m.Setter, m.Key, typ)
	fmt.Fprintf(&b, "\t%s *unit = (void *)s + %s;\n\n", unit, unitM)
	if xorM != "" {
		v = "(" + v + " ^ " + xorM + ")"
	}
	fmt.Fprintf(&b, "\t*unit = (*unit & ~((%s)%s << %s)) |\n\t\t(((%s)%s & %s) << %s);\n", unit, maskM, shiftM, unit, v, maskM, shiftM)
	b.WriteString("}\n")
	return b.String()
}
