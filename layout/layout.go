// Package layout reads struct and union layouts from the DWARF of compiled
// objects and compares them, in the spirit of pahole: size, alignment,
// member byte offsets, bit offsets and bit sizes. Layouts come from the
// compiler's own output, so configuration, packing and attributes are
// accounted for exactly.
package layout

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"sort"
	"strings"
)

// Member is one member of a struct, anonymous members flattened with a
// dotted path ("u.x").
type Member struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Offset    int64  `json:"offset"`             // byte offset from the start of the outermost struct
	Size      int64  `json:"size"`               // byte size of the member's type
	BitOffset int64  `json:"bit_offset"`         // absolute bit offset from the start of the struct
	BitSize   int64  `json:"bit_size,omitempty"` // width for bitfields, 0 otherwise
	Align     int64  `json:"align"`              // alignment of the member's type
}

// IsBitfield reports whether the member is a bitfield.
func (m Member) IsBitfield() bool { return m.BitSize > 0 }

// Struct is the layout of one struct or union.
type Struct struct {
	Kind    string   `json:"kind"` // "struct" or "union"
	Name    string   `json:"name"`
	Size    int64    `json:"size"`
	Align   int64    `json:"align"`
	Members []Member `json:"members"`
}

// Member returns the member with the given (dotted) name.
func (s *Struct) Member(name string) (Member, bool) {
	for _, m := range s.Members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// Layouts maps "struct name" / "union name" to a layout.
type Layouts map[string]*Struct

// Key returns the map key of a struct.
func Key(kind, name string) string { return kind + " " + name }

// ReadObject reads every named, complete struct and union of an object file.
func ReadObject(path string) (Layouts, error) {
	out := Layouts{}
	err := walkDWARF(path, func(d *dwarf.Data, e *dwarf.Entry) {
		kind, name, ok := Aggregate(e)
		if !ok {
			return
		}
		key := Key(kind, name)
		if _, ok := out[key]; ok {
			return
		}
		if st, ok := StructType(d, e); ok {
			out[key] = fromDWARF(st)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkDWARF calls visit with every debug information entry of an object
// file, in order.
func walkDWARF(path string, visit func(d *dwarf.Data, e *dwarf.Entry)) error {
	d, err := objectDWARF(path)
	if err != nil {
		return err
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if e == nil {
			return nil
		}
		visit(d, e)
	}
}

// objectDWARF reads the debug information of an object file (read whole:
// the file can be closed at once).
func objectDWARF(path string) (*dwarf.Data, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("%s: no DWARF (build with debug info): %v", path, err)
	}
	return d, nil
}

// Aggregate returns the kind ("struct" or "union") and tag of a DWARF entry
// that defines a named struct or union; ok is false for anything else
// (anonymous aggregates, declarations without a body, other entries).
func Aggregate(e *dwarf.Entry) (kind, name string, ok bool) {
	if e.Tag != dwarf.TagStructType && e.Tag != dwarf.TagUnionType {
		return "", "", false
	}
	name, _ = e.Val(dwarf.AttrName).(string)
	if name == "" {
		return "", "", false
	}
	if decl, _ := e.Val(dwarf.AttrDeclaration).(bool); decl {
		return "", "", false
	}
	return kindOf(e.Tag), name, true
}

// StructType reads the type of an entry Aggregate accepted; ok is false
// when it cannot be read or has no members in this unit (incomplete).
func StructType(d *dwarf.Data, e *dwarf.Entry) (*dwarf.StructType, bool) {
	t, err := d.Type(e.Offset)
	if err != nil {
		return nil, false
	}
	st, ok := t.(*dwarf.StructType)
	if !ok || st.Incomplete {
		return nil, false
	}
	return st, true
}

func kindOf(tag dwarf.Tag) string {
	if tag == dwarf.TagUnionType {
		return "union"
	}
	return "struct"
}

func fromDWARF(st *dwarf.StructType) *Struct {
	s := &Struct{Kind: st.Kind, Name: st.StructName, Size: st.ByteSize, Align: alignOf(st)}
	flatten(st, "", 0, &s.Members)
	return s
}

func flatten(st *dwarf.StructType, prefix string, base int64, out *[]Member) {
	for _, f := range st.Field {
		off := base + f.ByteOffset
		bitOff := off * 8
		if f.BitSize > 0 {
			if f.DataBitOffset != 0 || f.BitOffset == 0 {
				bitOff = base*8 + f.DataBitOffset
			} else {
				// DWARF 2/3 style: BitOffset counts from the storage unit's top bit.
				unit := f.ByteSize * 8
				bitOff = off*8 + unit - f.BitOffset - f.BitSize
			}
		}
		inner := StripTypedefs(f.Type)
		if f.Name == "" {
			if ist, ok := inner.(*dwarf.StructType); ok {
				flatten(ist, prefix, off, out)
				continue
			}
		}
		*out = append(*out, Member{Name: prefix + f.Name, Type: CType(f.Type), Offset: off, Size: f.Type.Size(), BitOffset: bitOff, BitSize: f.BitSize, Align: alignOf(f.Type)})
		if ist, ok := inner.(*dwarf.StructType); ok && ist.StructName == "" && f.Name != "" {
			flatten(ist, prefix+f.Name+".", off, out)
		}
	}
}

// CType renders a DWARF type the way C spells it ("struct net_device *",
// "unsigned long[16]").
func CType(t dwarf.Type) string {
	switch x := t.(type) {
	case *dwarf.PtrType:
		if _, ok := x.Type.(*dwarf.FuncType); ok {
			return "function pointer"
		}
		inner := "void"
		if x.Type != nil {
			inner = CType(x.Type)
		}
		if strings.HasSuffix(inner, "*") {
			return inner + "*"
		}
		return inner + " *"
	case *dwarf.ArrayType:
		n := ""
		if x.Count >= 0 {
			n = fmt.Sprint(x.Count)
		}
		return CType(x.Type) + "[" + n + "]"
	case *dwarf.QualType:
		return x.Qual + " " + CType(x.Type)
	case *dwarf.StructType:
		if x.StructName == "" {
			return x.Kind + " {...}"
		}
		return x.Kind + " " + x.StructName
	case *dwarf.EnumType:
		return "enum " + x.EnumName
	case *dwarf.TypedefType:
		return x.Name
	case *dwarf.VoidType:
		return "void"
	case nil:
		return "void"
	}
	return strings.ReplaceAll(strings.ReplaceAll(t.String(), "long unsigned int", "unsigned long"), "long int", "long")
}

// StripTypedefs returns the type under typedefs and qualifiers (const,
// volatile): what a member's layout depends on.
func StripTypedefs(t dwarf.Type) dwarf.Type {
	for {
		switch x := t.(type) {
		case *dwarf.TypedefType:
			t = x.Type
		case *dwarf.QualType:
			t = x.Type
		default:
			return t
		}
	}
}

// alignOf computes the alignment of a type from its members, as the ABI does.
func alignOf(t dwarf.Type) int64 {
	switch x := StripTypedefs(t).(type) {
	case *dwarf.StructType:
		a := int64(1)
		for _, f := range x.Field {
			if fa := alignOf(f.Type); fa > a {
				a = fa
			}
		}
		return a
	case *dwarf.ArrayType:
		return alignOf(x.Type)
	case *dwarf.PtrType:
		return 8
	case *dwarf.EnumType:
		return max(1, x.ByteSize)
	default:
		sz := t.Size()
		switch {
		case sz >= 16:
			return 16
		case sz >= 8:
			return 8
		case sz >= 4:
			return 4
		case sz >= 2:
			return 2
		}
		return 1
	}
}

// Merge adds the layouts of o that l does not have yet.
func (l Layouts) Merge(o Layouts) {
	for k, v := range o {
		if _, ok := l[k]; !ok {
			l[k] = v
		}
	}
}

// minShiftRun is how many members moving by the same amount Diff shows as
// one line (each moves by exactly that amount); shorter runs are listed.
const minShiftRun = 12

// Diff describes how layout b differs from a, one line per difference;
// nil when they are identical.
func Diff(a, b *Struct) []string {
	var out []string
	if a.Size != b.Size {
		out = append(out, fmt.Sprintf("size %d -> %d", a.Size, b.Size))
	}
	if a.Align != b.Align {
		out = append(out, fmt.Sprintf("alignment %d -> %d", a.Align, b.Align))
	}
	old := map[string]Member{}
	for _, m := range a.Members {
		old[m.Name] = m
	}
	seen := map[string]bool{}
	// a run of members that all move by the same amount (everything after
	// an inserted member) is one line, as pahole readers scan it
	type shift struct {
		name     string
		from, to int64
	}
	var run []shift
	flush := func() {
		if len(run) >= minShiftRun {
			first, last := run[0], run[len(run)-1]
			out = append(out, fmt.Sprintf("%d members from %s to %s move by %+d (%d -> %d .. %d -> %d)",
				len(run), first.name, last.name, first.to-first.from, first.from, first.to, last.from, last.to))
		} else {
			for _, r := range run {
				out = append(out, fmt.Sprintf("%s offset %d -> %d", r.name, r.from, r.to))
			}
		}
		run = nil
	}
	for _, m := range b.Members {
		seen[m.Name] = true
		o, ok := old[m.Name]
		isShift := ok && (o.BitOffset != m.BitOffset || o.BitSize != m.BitSize) && !m.IsBitfield() && !o.IsBitfield()
		if isShift && len(run) > 0 && run[0].to-run[0].from != m.Offset-o.Offset {
			flush()
		}
		if isShift {
			run = append(run, shift{m.Name, o.Offset, m.Offset})
			continue
		}
		flush()
		switch {
		case !ok && m.IsBitfield():
			out = append(out, fmt.Sprintf("%s new at bit %d (byte %d, bit %d), %d bits", m.Name, m.BitOffset, m.BitOffset/8, m.BitOffset%8, m.BitSize))
		case !ok:
			out = append(out, fmt.Sprintf("%s new at %d (%d bytes)", m.Name, m.Offset, m.Size))
		case o.BitOffset != m.BitOffset || o.BitSize != m.BitSize:
			out = append(out, fmt.Sprintf("%s bit %d:%d -> %d:%d", m.Name, o.BitOffset, o.BitSize, m.BitOffset, m.BitSize))
		case o.Size != m.Size || o.Type != m.Type:
			out = append(out, fmt.Sprintf("%s type %s (%d bytes) -> %s (%d bytes)", m.Name, o.Type, o.Size, m.Type, m.Size))
		}
	}
	flush()
	for _, m := range a.Members {
		if !seen[m.Name] {
			out = append(out, fmt.Sprintf("%s removed (was at %d)", m.Name, m.Offset))
		}
	}
	return out
}

// Holes returns the unused byte ranges [start, end) inside a struct,
// including tail padding, ignoring bits unused inside bitfield units.
func Holes(s *Struct) [][2]int64 {
	if s.Kind == "union" {
		return nil
	}
	used := make([]bool, s.Size)
	// nextField is where the first non-bitfield member at or after byte
	// off starts (the struct's end without one)
	nextField := func(off int64) int64 {
		next := s.Size
		for _, o := range s.Members {
			if !o.IsBitfield() && !strings.Contains(o.Name, ".") && o.Offset >= off && o.Offset < next {
				next = o.Offset
			}
		}
		return next
	}
	for _, m := range s.Members {
		start, end := m.Offset, m.Offset+m.Size
		switch {
		case m.IsBitfield():
			// gcc may read and write a run of bitfields with an access as
			// wide as its type, over the padding up to the next member (C11
			// makes the run one memory location): that padding is the
			// old code's to rewrite
			start, end = m.BitOffset/8, nextField((m.BitOffset+m.BitSize+7)/8)
		case m.Size == 0:
			// a flexible (or zero-length) array: the bytes after it in
			// the struct are its first elements
			end = s.Size
		}
		if strings.Contains(m.Name, ".") {
			// members of a named nested aggregate are covered by it
			continue
		}
		for i := max(start, 0); i < end && i < s.Size; i++ {
			used[i] = true
		}
	}
	var out [][2]int64
	for i := int64(0); i < s.Size; {
		if used[i] {
			i++
			continue
		}
		j := i
		for j < s.Size && !used[j] {
			j++
		}
		out = append(out, [2]int64{i, j})
		i = j
	}
	return out
}

// HolesText lists the holes of s ("4 bytes at 20, 2 bytes at 30", or
// "none"), for reports.
func HolesText(s *Struct) string {
	var hs []string
	for _, h := range Holes(s) {
		hs = append(hs, fmt.Sprintf("%d bytes at %d", h[1]-h[0], h[0]))
	}
	if len(hs) == 0 {
		return "none"
	}
	return strings.Join(hs, ", ")
}

// InHole reports whether bytes [lo, hi) of s are all in one of its holes.
func InHole(s *Struct, lo, hi int64) bool {
	for _, h := range Holes(s) {
		if h[0] <= lo && hi <= h[1] {
			return true
		}
	}
	return false
}

// Pahole renders a layout as pahole prints it, for reports.
func Pahole(s *Struct) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s {\n", s.Kind, s.Name)
	ms := append([]Member(nil), s.Members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].BitOffset < ms[j].BitOffset })
	for _, m := range ms {
		if m.IsBitfield() {
			fmt.Fprintf(&b, "\t%-30s /* %5d:%2d %4d */\n", m.Type+" "+m.Name+":"+fmt.Sprint(m.BitSize)+";", m.BitOffset/8, m.BitOffset%8, m.Size)
		} else {
			fmt.Fprintf(&b, "\t%-30s /* %5d %7d */\n", m.Type+" "+m.Name+";", m.Offset, m.Size)
		}
	}
	fmt.Fprintf(&b, "\t/* size: %d, alignment: %d */\n};\n", s.Size, s.Align)
	return b.String()
}

// ReadULongs returns the 64-bit little-endian words of a data symbol of an
// object file (a compiled probe such as
// "const unsigned long probe[3] = { A, B, C };").
func ReadULongs(path, symbol string) ([]uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	for _, s := range syms {
		if s.Name != symbol || int(s.Section) >= len(f.Sections) {
			continue
		}
		data, err := f.Sections[s.Section].Data()
		if err != nil {
			return nil, err
		}
		if s.Value+s.Size > uint64(len(data)) {
			return nil, fmt.Errorf("%s: symbol %s out of its section", path, symbol)
		}
		b := data[s.Value : s.Value+s.Size]
		var out []uint64
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, uint64(b[i])|uint64(b[i+1])<<8|uint64(b[i+2])<<16|uint64(b[i+3])<<24|
				uint64(b[i+4])<<32|uint64(b[i+5])<<40|uint64(b[i+6])<<48|uint64(b[i+7])<<56)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: no symbol %s", path, symbol)
}

// Anchors expresses the byte range [off, off+size) of struct key (a hole,
// or a bitfield's storage unit) with its named neighbours, as C
// expressions generated code can check with static_assert: anchor is the
// offset (offsetofend of the member before it, offsetof of the member right
// after it, or a number), lo the bound the range starts at or after when
// the anchor does not say it ("" otherwise), and hi the bound it must end
// before (offsetof of the next member, or sizeof the struct). Bitfields
// and nested members never anchor: offsetof cannot name them.
func Anchors(key string, base *Struct, off, size int64) (anchor, lo, hi string) {
	var prevEnd int64 = -1
	prevName, nextName := "", ""
	var nextOff int64 = -1
	for _, bm := range base.Members {
		if bm.IsBitfield() || strings.Contains(bm.Name, ".") {
			continue
		}
		end := bm.Offset + bm.Size
		if end <= off && end > prevEnd {
			prevEnd, prevName = end, bm.Name
		}
		if bm.Offset >= off+size && (nextOff < 0 || bm.Offset < nextOff) {
			nextOff, nextName = bm.Offset, bm.Name
		}
	}
	switch {
	case prevName != "" && prevEnd == off:
		anchor = fmt.Sprintf("offsetofend(%s, %s)", key, prevName)
	case nextName != "" && nextOff == off+size:
		anchor = fmt.Sprintf("(offsetof(%s, %s) - %d)", key, nextName, size)
		if prevName != "" {
			lo = fmt.Sprintf("offsetofend(%s, %s)", key, prevName)
		}
	case off == 0:
		anchor = "0"
	case prevName != "":
		anchor = fmt.Sprintf("(offsetofend(%s, %s) + %d)", key, prevName, off-prevEnd)
		lo = fmt.Sprintf("offsetofend(%s, %s)", key, prevName)
	default:
		anchor = fmt.Sprint(off)
	}
	if nextName != "" {
		hi = fmt.Sprintf("offsetof(%s, %s)", key, nextName)
	} else {
		hi = fmt.Sprintf("sizeof(%s)", key)
	}
	return anchor, lo, hi
}

// ReadEnumerators reads the value of every enumeration constant in an
// object's DWARF, by name (C gives enumerators one namespace per
// translation unit).
func ReadEnumerators(path string) (map[string]int64, error) {
	out := map[string]int64{}
	err := walkDWARF(path, func(_ *dwarf.Data, e *dwarf.Entry) {
		name, _ := e.Val(dwarf.AttrName).(string)
		if e.Tag != dwarf.TagEnumerator || name == "" {
			return
		}
		switch v := e.Val(dwarf.AttrConstValue).(type) {
		case int64:
			out[name] = v
		case uint64:
			out[name] = int64(v)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
