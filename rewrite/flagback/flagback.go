// Package flagback is the transform for a member whose state upstream
// moves into a bit of a flags word: "unsigned int running" becomes bit
// PACKET_SOCK_RUNNING of po->flags, read and written with the kernel's bit
// operations. Objects that exist when the livepatch loads hold the state
// in the member and never set the bit, so the patched code must keep
// reading and writing it where they hold it. The member stays in the
// struct (the layout is the running kernel's), and every operation of the
// patched code on the new bit goes to the member instead, through
// generated accessors that are atomic where upstream's bit operations are:
// WRITE_ONCE() of a whole member, try_cmpxchg() on the storage unit of a
// bitfield.
//
// Before (upstream):	-	unsigned int running;
//
//	if (!packet_sock_flag(po, PACKET_SOCK_RUNNING)) {
//	packet_sock_flag_set(po, PACKET_SOCK_RUNNING, 1);
//
// After (rewritten):	the header keeps "unsigned int running";
//
//	if (!packet_sock_get_running(po)) {
//	packet_sock_set_running(po, true);
//
// It holds when every use of the new constant in the patched code is the
// bit number of a bit operation on a word of the struct, either a direct
// one (test_bit(C, &po->flags)) or a call of a static inline accessor whose
// whole body is one (packet_sock_flag(po, C)), and, for a bitfield, the
// bit's storage unit holds no bitfield that stays: its position comes from
// the DWARF of the configured build and is guarded by static_assert.
package flagback

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the flagback transform.
var Transform = &rewrite.Transform{
	Name: "flagback",
	Doc: "a member whose state upstream moves into a bit of a flags word stays in the struct; the patched code's operations on that bit " +
		"read and write the member, so objects that exist when the livepatch loads keep their state",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{rewrite.Layouts},
	Run:      run,
}

// op is what a bit operation does with the bit.
type op int

const (
	opTest   op = iota // reads it
	opSet              // sets it
	opClear            // clears it
	opAssign           // sets it to a value
)

// use is one operation of the patched code on the moved bit.
type use struct {
	file     string
	line     int
	off, end int // the call's text: the accessor's or bit operation's name to its ')'
	op       op
	obj      string // C expression of the object pointer
	val      string // opAssign's value
	via      string // the function called
	word     string // the flags word's member name
}

// moved is one removed member whose state upstream moves to a flag.
type moved struct {
	entry    *rewrite.Entry
	flag     string // the new constant
	where    string // " (enum X)", " (a new macro)"
	uses     []use
	bitfield *unit // nil for a whole member
	getter   string
	setter   string
	restore  struct {
		at          int
		text, where string
	}
}

// unit is where a bitfield's bit lives in the running kernel's layout.
type unit struct {
	size   int64  // bytes
	off    int64  // byte offset
	shift  int64  // bit inside the unit
	anchor string // C expression of off
	lo, hi string // C bounds for static_assert ("" lo: anchor is exact)
}

func run(p *rewrite.Pass) error {
	var ms []*moved
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MemberRemoved || ch.PreMember == nil || ch.PreStruct == nil || ch.PostStruct == nil {
			continue
		}
		flag, where := Successor(p, ch)
		if flag == "" {
			continue
		}
		m := &moved{entry: e, flag: flag, where: where}
		if why := m.find(p); why != "" {
			p.Refuse(e, why)
			continue
		}
		if why := m.place(p); why != "" {
			p.Refuse(e, why)
			continue
		}
		if why := m.wordUses(p); why != "" {
			p.Refuse(e, why)
			continue
		}
		fc := p.ChangeOf(e.File)
		if fc == nil {
			continue
		}
		at, text, w, why := fc.Restore(ch, p.Parse(e.File))
		if why != "" {
			p.Refuse(e, "the member cannot be put back: "+why)
			continue
		}
		m.restore.at, m.restore.text, m.restore.where = at, text, w
		tag := strings.TrimPrefix(strings.TrimPrefix(key(ch), "struct "), "union ")
		m.getter = p.UniqueName(tag + "_get_" + ch.Member)
		m.setter = p.UniqueName(tag + "_set_" + ch.Member)
		ms = append(ms, m)
	}
	// a constant that two members would both take over is no answer
	claimed := map[string]int{}
	for _, m := range ms {
		claimed[m.flag]++
	}
	kept := ms[:0]
	for _, m := range ms {
		if claimed[m.flag] > 1 {
			p.Refuse(m.entry, fmt.Sprintf("%s would take over more than one removed member: which one's state it holds is not clear", m.flag))
			continue
		}
		kept = append(kept, m)
	}
	ms = kept
	wholeGroups(p, ms)
	code := map[string][]string{} // file -> accessors, in member order
	for _, m := range ms {
		for file, c := range m.apply(p) {
			code[file] = append(code[file], c)
		}
	}
	for _, file := range slices.Sorted(maps.Keys(code)) {
		pf := p.Parse(file)
		at := gen.InsertionPoint(pf)
		p.Edit(edit.Edit{File: file, Off: at, End: at, Text: gen.Styled(file, gen.InsertText(pf.Src, at, gen.Join(code[file]))), Why: "accessors of the member"})
	}
	return nil
}

// wholeGroups puts back a declaration whose members all go back
// ("unsigned int a:1, b:1;") as its original lines, once, instead of one
// declaration per member: the header then keeps its text.
func wholeGroups(p *rewrite.Pass, ms []*moved) {
	type groupKey struct {
		s     *ast.Struct
		group int
	}
	groups := map[groupKey][]*moved{}
	for _, m := range ms {
		ch := m.entry.Change
		k := groupKey{ch.PreStruct, ch.PreMember.Group}
		groups[k] = append(groups[k], m)
	}
	for k, g := range groups {
		n := 0
		for _, x := range k.s.Members {
			if x.Group == k.group {
				n++
			}
		}
		if n < 2 || len(g) != n {
			continue
		}
		at, same := g[0].restore.at, true
		for _, m := range g {
			same = same && m.restore.at == at && !strings.Contains(m.restore.text, "#")
		}
		fc := p.ChangeOf(g[0].entry.File)
		if !same || fc == nil || fc.Pre == nil {
			continue
		}
		decl := g[0].entry.Change.PreMember.Decl
		text := string(fc.Pre.Src[ast.LineStart(fc.Pre.Src, decl.Off):ast.LineEnd(fc.Pre.Src, decl.End)])
		for i, m := range g {
			m.restore.text = ""
			if i == 0 {
				m.restore.text = text
			}
		}
	}
}

func key(ch *change.Change) string { return ch.PreStruct.Kind + " " + ch.Struct }

// find collects every use of the new constant in the patched files; why
// says which one is not an operation on the bit.
func (m *moved) find(p *rewrite.Pass) string {
	ch := m.entry.Change
	for _, file := range p.Touched() {
		if p.File(file) == nil {
			continue
		}
		f := p.Parse(file)
		toks := sites.CodeTokens(f)
		for _, mac := range f.Macros {
			if mac.Name != m.flag && !mac.Undef && slices.Contains(ast.Idents(mac.Body), m.flag) {
				return fmt.Sprintf("%s:%d: the macro %s uses %s: only operations of the patched code's functions are rewritten", file, f.Line(mac.Span.Off), mac.Name, m.flag)
			}
		}
		for i, t := range toks {
			if t.Kind != ast.Ident || t.Text != m.flag || isEnumerator(f, t) {
				continue
			}
			line := f.Line(t.Off)
			if change.IsHeader(file) {
				return fmt.Sprintf("%s:%d uses %s in a header: only the patched .c files' operations on the bit are rewritten", file, line, m.flag)
			}
			u, why := bitUse(p, f, toks, i, ch)
			if why != "" {
				return fmt.Sprintf("%s:%d: %s", file, line, why)
			}
			u.file, u.line = file, line
			m.uses = append(m.uses, u)
		}
	}
	if len(m.uses) == 0 {
		return "the patched .c files do not use " + m.flag
	}
	return ""
}

// isEnumerator reports whether t is the name of an enumerator of f (its
// definition, not a use in another one's value).
func isEnumerator(f *ast.File, t ast.Token) bool {
	for _, e := range f.Enums {
		if t.Off < e.Span.Off || t.Off >= e.Span.End {
			continue
		}
		for _, v := range e.Values {
			if v.Name == t.Text && v.Span.Off == t.Off {
				return true
			}
		}
	}
	return false
}

// direct are the kernel's bit operations on a word, by what they do.
var direct = map[string]op{
	"test_bit": opTest, "set_bit": opSet, "__set_bit": opSet, "clear_bit": opClear, "__clear_bit": opClear,
	"assign_bit": opAssign, "__assign_bit": opAssign,
}

// bitUse reads the call whose bit number toks[i] is.
func bitUse(p *rewrite.Pass, f *ast.File, toks []ast.Token, i int, ch *change.Change) (use, string) {
	open, arg, ok := sites.EnclosingParen(toks, i, 0)
	if !ok || open == 0 || toks[open-1].Kind != ast.Ident {
		return use{}, fmt.Sprintf("%s is used other than as the bit number of a call", toks[i].Text)
	}
	args, closeAt := sites.CallArgs(toks, open)
	if closeAt < 0 || arg >= len(args) || args[arg][0] != i || args[arg][1] != i+1 {
		return use{}, fmt.Sprintf("%s is part of an expression, not the bit number itself", toks[i].Text)
	}
	name := toks[open-1].Text
	text := func(a [2]int) string { return strings.TrimSpace(string(f.Src[toks[a[0]].Off:toks[a[1]-1].End])) }
	u := use{off: toks[open-1].Off, end: toks[closeAt].End, via: name}
	if o, ok := direct[name]; ok {
		if arg != 0 || len(args) < 2 {
			return use{}, fmt.Sprintf("%s is not the bit number of %s()", toks[i].Text, name)
		}
		obj, why := wordOf(toks[args[1][0]:args[1][1]], ch)
		if why != "" {
			return use{}, fmt.Sprintf("%s(%s, ...): %s", name, toks[i].Text, why)
		}
		u.op, u.obj, u.word = o, obj, toks[args[1][1]-1].Text
		if o == opAssign {
			if len(args) != 3 {
				return use{}, name + "() without its value"
			}
			u.val = text(args[2])
		}
		return u, ""
	}
	acc, why := accessor(p, f, name, ch)
	if why != "" {
		return use{}, why
	}
	if arg != acc.nr || len(args) != acc.params {
		return use{}, fmt.Sprintf("%s is not the bit number of %s()", toks[i].Text, name)
	}
	u.op, u.obj, u.word = acc.op, text(args[acc.obj]), acc.word
	if acc.op == opAssign {
		u.val = text(args[acc.val])
	}
	return u, ""
}

// wordOf reads "&obj->word" (or "&obj.word") where word is a member the
// struct has before and after the change: the object pointer's text.
func wordOf(arg []ast.Token, ch *change.Change) (string, string) {
	n := len(arg)
	if n < 4 || arg[0].Text != "&" || (arg[n-2].Text != "->" && arg[n-2].Text != ".") {
		return "", "its word is not a member of an object (&obj->word)"
	}
	word := arg[n-1].Text
	if !hasWord(ch.PreStruct, word) || !hasWord(ch.PostStruct, word) {
		return "", fmt.Sprintf("its word %s is not a member of %s %s before and after the change", word, ch.PreStruct.Kind, ch.Struct)
	}
	obj := ast.JoinTokens(arg[1 : n-2])
	if arg[n-2].Text == "." {
		obj = "&" + obj
		if len(arg[1:n-2]) > 1 {
			obj = "&(" + ast.JoinTokens(arg[1:n-2]) + ")"
		}
	}
	return obj, ""
}

func hasWord(s *ast.Struct, name string) bool {
	for _, x := range s.Members {
		if x.Name == name && !x.IsBitfield() && len(x.Array) == 0 {
			return true
		}
	}
	return false
}

// access is a static inline function whose whole body is one bit
// operation on a word of its object parameter.
type access struct {
	op      op
	params  int
	obj, nr int // parameter positions
	val     int // opAssign's value parameter
	word    string
}

// bodies are the accessor bodies kprewrite reads, braces dropped, with
// $O the object parameter, $N the bit number, $V the value and $W the word.
var bodies = []struct {
	tokens string
	op     op
}{
	{"return test_bit ( $N , & $O -> $W ) ;", opTest},
	{"set_bit ( $N , & $O -> $W ) ;", opSet},
	{"__set_bit ( $N , & $O -> $W ) ;", opSet},
	{"clear_bit ( $N , & $O -> $W ) ;", opClear},
	{"__clear_bit ( $N , & $O -> $W ) ;", opClear},
	{"if ( $V ) set_bit ( $N , & $O -> $W ) ; else clear_bit ( $N , & $O -> $W ) ;", opAssign},
	{"if ( $V ) __set_bit ( $N , & $O -> $W ) ; else __clear_bit ( $N , & $O -> $W ) ;", opAssign},
	{"assign_bit ( $N , & $O -> $W , $V ) ;", opAssign},
	{"__assign_bit ( $N , & $O -> $W , $V ) ;", opAssign},
}

// accessor reads the definition of the function name: in file f or in a
// header the patch changes.
func accessor(p *rewrite.Pass, f *ast.File, name string, ch *change.Change) (access, string) {
	def, df := f.Func(name), f
	if def == nil {
		for _, h := range p.Touched() {
			if change.IsHeader(h) && p.File(h) != nil {
				if hf := p.Parse(h); hf.Func(name) != nil {
					def, df = hf.Func(name), hf
					break
				}
			}
		}
	}
	if def == nil {
		return access{}, fmt.Sprintf("passes the bit to %s(), which is neither a bit operation on a word of the struct nor an accessor made of one (its definition is not in the patch's files)", name)
	}
	if !def.Has("static") || !def.IsInline() {
		return access{}, fmt.Sprintf("passes the bit to %s(), which is not a static inline accessor", name)
	}
	params := df.ParamNames(def)
	var body []string
	for _, t := range df.CodeTokens(def.Body) {
		if t.Text == "{" || t.Text == "}" {
			continue
		}
		body = append(body, t.Text)
	}
	for _, b := range bodies {
		a, ok := match(strings.Fields(b.tokens), body, params)
		if !ok {
			continue
		}
		if !hasWord(ch.PreStruct, a.word) || !hasWord(ch.PostStruct, a.word) {
			return access{}, fmt.Sprintf("%s() operates on %s, which is not a member of %s %s before and after the change", name, a.word, ch.PreStruct.Kind, ch.Struct)
		}
		a.op, a.params = b.op, len(params)
		return a, ""
	}
	return access{}, fmt.Sprintf("passes the bit to %s(), whose body is not one bit operation on a word of its object", name)
}

// match matches body against a pattern, binding its placeholders to
// parameters (and $W to a word).
func match(pat, body, params []string) (access, bool) {
	a := access{obj: -1, nr: -1, val: -1}
	if len(pat) != len(body) {
		return a, false
	}
	bind := map[string]int{"$O": -1, "$N": -1, "$V": -1}
	for i, pt := range pat {
		bt := body[i]
		switch pt {
		case "$W":
			if a.word != "" && a.word != bt || !ast.IsIdent(bt) {
				return a, false
			}
			a.word = bt
		case "$O", "$N", "$V":
			k := slices.Index(params, bt)
			if k < 0 || bind[pt] >= 0 && bind[pt] != k {
				return a, false
			}
			bind[pt] = k
		default:
			if pt != bt {
				return a, false
			}
		}
	}
	a.obj, a.nr, a.val = bind["$O"], bind["$N"], bind["$V"]
	return a, a.obj >= 0 && a.nr >= 0 && a.obj != a.nr
}

// place reads where a bitfield's bit is in the running kernel's layout.
func (m *moved) place(p *rewrite.Pass) string {
	ch := m.entry.Change
	pm := ch.PreMember
	if len(pm.Array) > 0 || pm.Nested != nil || pm.Macro != "" || strings.Contains(pm.Type, "*") {
		return "the member is not an integer, so it cannot hold the bit's state"
	}
	if !pm.IsBitfield() {
		return ""
	}
	if !p.HasCompiler() {
		return "the bit's position in the running kernel's layout needs the compiler: give --config"
	}
	if p.Env.Config.Tristate("CPU_BIG_ENDIAN") == "y" {
		return "big-endian bitfield order is not handled: the kernel is configured big-endian"
	}
	ls, err := rewrite.Layouts.Get(p, rewrite.StructRef{Header: m.entry.File, Key: key(ch)})
	if err != nil {
		return "cannot read the layout: " + err.Error()
	}
	base := ls[0]
	bm, ok := base.Member(ch.Member)
	if !ok || !bm.IsBitfield() || bm.BitSize != 1 {
		return fmt.Sprintf("the running kernel's layout has no one-bit bitfield %s", ch.Member)
	}
	u := &unit{size: max(bm.Size, 1)}
	u.off = bm.BitOffset / 8 / u.size * u.size
	u.shift = bm.BitOffset - u.off*8
	if u.shift >= u.size*8 || u.off+u.size > base.Size {
		return fmt.Sprintf("%s's storage unit is not inside the struct", ch.Member)
	}
	// every other bitfield in the unit must be one upstream moves to a
	// flag too: the patched code writes the unit atomically, and a plain
	// write of a bitfield that stays could undo it
	for _, o := range base.Members {
		if o.Name == ch.Member || strings.Contains(o.Name, ".") {
			continue
		}
		start, end := o.Offset*8, (o.Offset+o.Size)*8
		if o.IsBitfield() {
			start, end = o.BitOffset, o.BitOffset+o.BitSize
		}
		if start >= (u.off+u.size)*8 || end <= u.off*8 {
			continue
		}
		if !o.IsBitfield() || !movedToFlag(p, ch, o.Name) {
			return fmt.Sprintf("the %d-byte unit of %s also holds %s, which the patched code updates with plain writes: one update could undo the other", u.size, ch.Member, o.Name)
		}
	}
	if base.Align < u.size {
		return fmt.Sprintf("the struct is aligned to %d bytes, less than %s's %d-byte unit: an atomic update of it could be misaligned", base.Align, ch.Member, u.size)
	}
	// the compiler may read and write the whole run of adjacent
	// bitfields (one memory location in C11): every bitfield of the run
	// must move to a flag too
	if idx := slices.Index(ch.PreStruct.Members, pm); idx >= 0 {
		lo, hi := idx, idx
		for lo > 0 && ch.PreStruct.Members[lo-1].IsBitfield() {
			lo--
		}
		for hi+1 < len(ch.PreStruct.Members) && ch.PreStruct.Members[hi+1].IsBitfield() {
			hi++
		}
		for _, o := range ch.PreStruct.Members[lo : hi+1] {
			if o != pm && !movedToFlag(p, ch, o.Name) {
				return fmt.Sprintf("%s shares its run of bitfields with %s, which the patched code updates with plain writes: one update could undo the other", ch.Member, o.Name)
			}
		}
	}
	u.anchor, u.lo, u.hi = layout.Anchors(key(ch), base, u.off, u.size)
	m.bitfield = u
	return ""
}

// movedToFlag reports whether the patch removes member name of the same
// struct and moves it to a flag too.
func movedToFlag(p *rewrite.Pass, ch *change.Change, name string) bool {
	for _, e := range p.Entries {
		o := e.Change
		if o != nil && o.Kind == change.MemberRemoved && o.File == ch.File && o.Struct == ch.Struct && o.Member == name {
			f, _ := Successor(p, o)
			return f != ""
		}
	}
	return false
}

var unitTypes = map[int64]string{1: "u8", 2: "u16", 4: "u32", 8: "u64"}

// apply proposes the edits: the member back in its struct, every use
// through an accessor; it returns the accessors each file needs.
func (m *moved) apply(p *rewrite.Pass) map[string]string {
	e, ch := m.entry, m.entry.Change
	if m.restore.text != "" {
		p.Edit(edit.Edit{File: e.File, Off: m.restore.at, End: m.restore.at, Text: m.restore.text, Why: "member kept", Hazard: e.Hazard})
	}
	need := map[string]map[bool]bool{} // file -> getter/setter
	reads, writes := 0, 0
	var files []string
	for _, u := range m.uses {
		if need[u.file] == nil {
			need[u.file] = map[bool]bool{}
			files = append(files, u.file)
		}
		var text string
		switch u.op {
		case opTest:
			text = fmt.Sprintf("%s(%s)", m.getter, u.obj)
			reads++
		case opSet:
			text = fmt.Sprintf("%s(%s, true)", m.setter, u.obj)
		case opClear:
			text = fmt.Sprintf("%s(%s, false)", m.setter, u.obj)
		case opAssign:
			text = fmt.Sprintf("%s(%s, %s)", m.setter, u.obj, u.val)
		}
		if u.op != opTest {
			writes++
		}
		need[u.file][u.op != opTest] = true
		p.Edit(edit.Edit{File: u.file, Off: u.off, End: u.end, Text: text, Why: "operation on the member", Hazard: e.Hazard})
	}
	code := map[string]string{}
	for _, file := range files {
		code[file] = m.accessors(need[file][false], need[file][true])
	}
	how := "whole member, READ_ONCE()/WRITE_ONCE()"
	if u := m.bitfield; u != nil {
		how = fmt.Sprintf("bit %d of the %d-byte unit at %s (byte %d, from DWARF), written with try_cmpxchg()", u.shift, u.size, u.anchor, u.off)
	}
	vias := map[string]bool{}
	for _, u := range m.uses {
		vias[u.via+"()"] = true
	}
	p.Resolve(e, fmt.Sprintf("the member stays in %s (%s); upstream moves its state to bit %s%s: the patched code's %s and %s of that bit (through %s, in %s) go to %s instead (%s), through %s()/%s()",
		key(ch), m.restore.where, m.flag, m.where, count(reads, "read"), count(writes, "write"), strings.Join(slices.Sorted(maps.Keys(vias)), ", "), strings.Join(files, ", "), ch.Member, how, m.getter, m.setter))
	p.Note(rewrite.Finding{File: e.File, Line: e.Line, Subject: e.Subject,
		Reason: fmt.Sprintf("objects that exist when the livepatch loads keep their state: they hold it in %s, where the patched code reads and writes it; bit %s of the flags word stays clear in every object", ch.Member, m.flag)})
	return code
}

// accessors renders the getter and setter a file needs.
func (m *moved) accessors(get, set bool) string {
	ch := m.entry.Change
	k := key(ch)
	var b strings.Builder
	where := "which stays in the struct"
	if m.bitfield != nil {
		where = fmt.Sprintf("a bitfield that stays in the struct, at bit %d of the %s unit at %s", m.bitfield.shift, unitTypes[m.bitfield.size], m.bitfield.anchor)
	}
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s kept in %s.%s.", gen.Banner, m.flag, k, ch.Member)},
		gen.Wrap(fmt.Sprintf(gen.Generated+" Upstream moves %s into bit %s of a flags word; objects of the running kernel hold it in %s, %s, so the patched code reads and writes it there, atomically as upstream's bit operations do.",
			ch.Member, m.flag, ch.Member, where), 76)...)...))
	u := m.bitfield
	if u == nil {
		if get {
			fmt.Fprintf(&b, "static inline bool %s(const %s *s)\n{\n\treturn READ_ONCE(s->%s);\n}\n", m.getter, k, ch.Member)
		}
		if set {
			if get {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "static inline void %s(%s *s, bool val)\n{\n\tWRITE_ONCE(s->%s, val);\n}\n", m.setter, k, ch.Member)
		}
		return b.String()
	}
	typ := unitTypes[u.size]
	prefix := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(k, "struct "), "union ") + "_" + ch.Member)
	unitM, shiftM := prefix+"_UNIT", prefix+"_SHIFT"
	fmt.Fprintf(&b, "#define %s\t%s\n", unitM, u.anchor)
	fmt.Fprintf(&b, "#define %s\t%d\n\n", shiftM, u.shift)
	if u.lo != "" {
		b.WriteString(gen.StaticAssert(fmt.Sprintf("%s >= %s", unitM, u.lo)))
	}
	b.WriteString(gen.StaticAssert(fmt.Sprintf("%s + sizeof(%s) <= %s", unitM, typ, u.hi)))
	if get {
		fmt.Fprintf(&b, "\nstatic inline bool %s(const %s *s)\n{\n", m.getter, k)
		fmt.Fprintf(&b, "\tconst %s *unit = (const void *)s + %s;\n\n", typ, unitM)
		fmt.Fprintf(&b, "\treturn (READ_ONCE(*unit) >> %s) & 1;\n}\n", shiftM)
	}
	if set {
		fmt.Fprintf(&b, "\nstatic inline void %s(%s *s, bool val)\n{\n", m.setter, k)
		fmt.Fprintf(&b, "\t%s *unit = (void *)s + %s;\n", typ, unitM)
		fmt.Fprintf(&b, "\t%s old = READ_ONCE(*unit), new;\n\n", typ)
		fmt.Fprintf(&b, "\tdo {\n\t\tnew = old & ~BIT(%s);\n\t\tif (val)\n\t\t\tnew |= BIT(%s);\n\t} while (!try_cmpxchg(unit, &old, new));\n}\n", shiftM, shiftM)
	}
	return b.String()
}

// count is "1 read", "3 reads".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// wordUses asks the compiler for every use of the flags word in the
// patched .c files (the word renamed in the header: each use is an
// error): each must be the word of a bit operation (&obj->word as the
// second argument of test_bit() and friends, or inside an accessor made of
// one). An assignment, a copy or a read of the whole word ("po->flags =
// 0") would, upstream, reach the moved bit too; the objects hold that
// state in the member instead, which such a use misses.
func (m *moved) wordUses(p *rewrite.Pass) string {
	ch := m.entry.Change
	words := map[string]bool{}
	for _, u := range m.uses {
		if u.word != "" {
			words[u.word] = true
		}
	}
	if len(words) == 0 || !p.HasCompiler() {
		return ""
	}
	hf := p.Parse(m.entry.File)
	st := hf.Struct(strings.TrimPrefix(strings.TrimPrefix(key(ch), "struct "), "union "))
	if st == nil {
		return "the struct cannot be found in the header to check the uses of its flags word"
	}
	var es []edit.Edit
	for _, x := range st.Members {
		if words[x.Name] && x.NameAt.End > 0 {
			es = append(es, edit.Insert(m.entry.File, x.NameAt.End, "__kprewrite_word"))
		}
	}
	if len(es) != len(words) {
		return "the flags word cannot be found in the header to check its uses"
	}
	var srcs []string
	for _, f := range p.CurrentSources() {
		for w := range words {
			if strings.Contains(string(p.File(f)), w) {
				srcs = append(srcs, f)
				break
			}
		}
	}
	compilable, err := p.Compilable(srcs)
	if err != nil {
		return "the uses of the flags word cannot be checked: " + p.Failed(err).Error()
	}
	o, err := p.Oracle()
	if err != nil {
		return "the uses of the flags word cannot be checked without the compiler: " + err.Error()
	}
	files := p.CurrentFiles()
	files[m.entry.File] = []byte(edit.MustApply(string(p.File(m.entry.File)), es))
	res, err := o.MemberUses(p.Context(), files, compilable)
	if err != nil {
		return "the uses of the flags word cannot be checked: " + p.Failed(err).Error()
	}
	for w := range words {
		for _, u := range res.Of(key(ch), w) {
			if u.Expansion != nil {
				// a bit operation may be a macro (test_bit()): the word is
				// then in its argument, written where it is invoked
				if _, isBitop := direct[u.Expansion.Macro]; !isBitop || u.Expansion.File != u.File || u.Expansion.Line != u.Line {
					return fmt.Sprintf("%s:%d uses the flags word %s in a macro: only bit operations on it are checked", u.File, u.Line, w)
				}
			}
			f := p.Parse(u.File)
			if change.IsHeader(u.File) {
				fn := f.FuncAt(f.Lines.Start(u.Line) + u.Col - 1)
				if fn == nil {
					return fmt.Sprintf("%s:%d uses the flags word %s outside a function", u.File, u.Line, w)
				}
				if _, why := accessor(p, f, fn.Name, ch); why != "" {
					return fmt.Sprintf("%s:%d: %s() uses the flags word %s, and %s", u.File, u.Line, fn.Name, w, why)
				}
				continue
			}
			toks := sites.CodeTokens(f)
			i := sites.TokenAt(toks, f.Lines.Start(u.Line)+u.Col-1)
			open, arg, ok := sites.EnclosingParen(toks, i, 0)
			if ok && open > 0 {
				if _, isBitop := direct[toks[open-1].Text]; isBitop && arg == 1 {
					continue
				}
			}
			return fmt.Sprintf("%s:%d uses the flags word %s other than as the word of a bit operation (an assignment, a copy or a read of the whole word): upstream that use reaches the moved bit too, and objects hold its state in %s, which it would miss",
				u.File, u.Line, w, ch.Member)
		}
	}
	return ""
}
