// Package objdiff finds the functions whose machine code differs between
// two builds of the same object. Objects are compiled with
// -ffunction-sections; a function's identity is its bytes plus its
// relocations (offset, type and target symbol), ignoring relocation addends
// (they move when unrelated strings or data move) and debug information.
// Relocations into mergeable string sections are resolved to the string
// they point at, so a changed message is a changed function, as in
// livepatch builders; relocations into local data (switch tables, static
// const arrays, dynamic debug descriptors) are resolved to that data's
// content, so a renumbered CSWTCH.298 or __UNIQUE_ID_ddebug509 is no
// change, and a changed table changes the functions that read it.
package objdiff

import (
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Func is one function of an object.
type Func struct {
	Name    string
	Section string
	Size    uint64
	Sum     [32]byte
	// Traceable: the function starts with a call to the ftrace entry
	// (__fentry__, after an optional endbr64), so ftrace can redirect it.
	// A livepatch can only replace such a function: notrace functions and
	// header inlines that gcc emitted out of line (the kernel's inline
	// implies notrace) fail to load with "failed to find location".
	Traceable bool
	// Data: a data object (a variable, a table, a static local), not a
	// function; Code and Program read both.
	Data bool
}

// ftraceEntry names the calls that -pg -mfentry (x86_64) or -pg (older
// mcount ABIs) put at the start of every traceable function.
var ftraceEntry = map[string]bool{"__fentry__": true, "mcount": true, "_mcount": true, "__mcount": true}

// traceWindow is how far into a function the ftrace call may sit: an
// endbr64 (4 bytes) and the call's opcode byte come before its relocation.
const traceWindow = 16

// Functions reads the function symbols of an ELF relocatable object.
func Functions(path string) (map[string]Func, error) {
	return symbols(path, func(s elf.Symbol) bool { return elf.ST_TYPE(s.Info) == elf.STT_FUNC }, false)
}

// Code reads the functions and the data objects (variables, tables, the
// static locals gcc names NAME.N) of an ELF relocatable object, each with
// its bytes and relocations: two builds with the same Code compile to the
// same program, whatever their line numbers in debug information.
func Code(path string) (map[string]Func, error) {
	return symbols(path, codeSymbol, false)
}

// Program is Code plus every allocated section that holds no function or
// data symbol, as one entry each ("[section __bug_table]"): alternatives
// and their CPU feature bits, the bug table's WARN flags, exception-table
// fixups, static-call and jump-label sites. A header change that only
// changes those changes the program; Neutral's per-function question
// leaves them out (one table serves every function of the file).
func Program(path string) (map[string]Func, error) {
	return symbols(path, codeSymbol, true)
}

func codeSymbol(s elf.Symbol) bool {
	t := elf.ST_TYPE(s.Info)
	return t == elf.STT_FUNC || t == elf.STT_OBJECT && s.Size > 0
}

// symbols reads the symbols of an object that want selects.
func symbols(path string, want func(elf.Symbol) bool, sections bool) (map[string]Func, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	strData := map[int][]byte{}
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_STRINGS != 0 && s.Type == elf.SHT_PROGBITS {
			if d, err := s.Data(); err == nil {
				strData[i] = d
			}
		}
	}
	relas, err := Relocations(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	relsOf := map[int][]rel{} // target section index -> relocations
	for _, r := range relas {
		name := ""
		named := false
		if r.Sym >= 0 && r.Sym < len(syms) {
			sym := syms[r.Sym]
			name = sym.Name
			// through a named symbol the addend is the place in it
			// ("arr[2]" is arr+8): part of what the code does
			named = elf.ST_TYPE(sym.Info) != elf.STT_SECTION
			if str, ok := strData[int(sym.Section)]; ok {
				named = false
				// a string literal (through a section symbol or a .LC label):
				// what matters is the string, not where it landed
				name = f.Sections[sym.Section].Name + ":" + stringAt(str, int64(sym.Value)+r.Addend, r.Type)
			} else if elf.ST_TYPE(sym.Info) == elf.STT_SECTION && int(sym.Section) < len(f.Sections) {
				name = f.Sections[sym.Section].Name
			}
		}
		relsOf[int(r.Target)] = append(relsOf[int(r.Target)], rel{r.Off, uint32(r.Type), name, r.Sym, r.Addend, named})
	}
	// Local data a function refers to (a switch table, a static const
	// array, a dynamic debug descriptor) is named by its content: gcc
	// numbers such symbols in the order it meets them (CSWTCH.298,
	// __UNIQUE_ID_ddebug509), and an unrelated addition to the file (an
	// EXPORT_SYMBOL, which uses __COUNTER__) renumbers them.
	// sorted by offset once, so every range below reads them in order
	plain := map[int][]rel{} // the relocations with the names read above
	for sec, rs := range relsOf {
		sort.Slice(rs, func(i, j int) bool { return rs[i].off < rs[j].off })
		plain[sec] = append([]rel(nil), rs...)
	}
	// each section's bytes are read once
	secData := map[int][]byte{}
	dataOf := func(sec int) ([]byte, error) {
		if d, ok := secData[sec]; ok {
			return d, nil
		}
		d, err := f.Sections[sec].Data()
		if err == nil {
			secData[sec] = d
		}
		return d, err
	}
	memo := map[[3]uint64]string{}
	content := func(sec int, start, end uint64) string {
		k := [3]uint64{uint64(sec), start, end}
		if c, ok := memo[k]; ok {
			return c
		}
		c := ""
		if d, err := dataOf(sec); err == nil {
			c = hashRange(d, plain[sec], start, end)
		}
		memo[k] = c
		return c
	}
	isData := func(sec elf.SectionIndex) bool {
		if int(sec) >= len(f.Sections) || sec == elf.SHN_UNDEF {
			return false
		}
		x := f.Sections[sec]
		return x.Type == elf.SHT_PROGBITS && x.Flags&elf.SHF_ALLOC != 0 && x.Flags&elf.SHF_EXECINSTR == 0 && x.Flags&elf.SHF_STRINGS == 0
	}
	// the local data objects of each data section, to name a reference
	// through a section symbol (__dyndbg+0x38) by the object it lands in
	isBSS := func(sec elf.SectionIndex) bool {
		return int(sec) < len(f.Sections) && sec != elf.SHN_UNDEF && f.Sections[sec].Type == elf.SHT_NOBITS && f.Sections[sec].Flags&elf.SHF_ALLOC != 0
	}
	objects := map[elf.SectionIndex][]elf.Symbol{}
	for _, sym := range syms {
		if elf.ST_TYPE(sym.Info) == elf.STT_OBJECT && sym.Size > 0 && (isData(sym.Section) || isBSS(sym.Section)) {
			objects[sym.Section] = append(objects[sym.Section], sym)
		}
	}
	localName := func(r rel) string {
		if r.sym < 0 || r.sym >= len(syms) {
			return ""
		}
		sym := syms[r.sym]
		if isBSS(sym.Section) && elf.ST_TYPE(sym.Info) == elf.STT_SECTION {
			// zeroed data through its section symbol (gas's form for a
			// local object): the object it lands in and the place in it,
			// so a field that moves inside a static struct shows
			at := r.target()
			for _, o := range objects[sym.Section] {
				if at >= 0 && uint64(at) >= o.Value && uint64(at) < o.Value+o.Size {
					return fmt.Sprintf("%s@bss+%d", counted.ReplaceAllString(o.Name, "N"), uint64(at)-o.Value)
				}
			}
			return fmt.Sprintf("%s+%d", counted.ReplaceAllString(f.Sections[sym.Section].Name, "N"), at)
		}
		if !isData(sym.Section) {
			return ""
		}
		switch {
		case elf.ST_TYPE(sym.Info) == elf.STT_SECTION:
			at := r.target()
			for _, o := range objects[sym.Section] {
				if at >= 0 && uint64(at) >= o.Value && uint64(at) < o.Value+o.Size {
					if c := content(int(sym.Section), o.Value, o.Value+o.Size); c != "" {
						// and the place in it
						return fmt.Sprintf("%s@%s+%d", counted.ReplaceAllString(o.Name, "N"), c, uint64(at)-o.Value)
					}
				}
			}
			if c := content(int(sym.Section), 0, f.Sections[sym.Section].Size); c != "" {
				// and the place in the section: which of its constants
				return fmt.Sprintf("%s@%s+%d", counted.ReplaceAllString(r.name, "N"), c, at)
			}
		case elf.ST_TYPE(sym.Info) == elf.STT_NOTYPE && elf.ST_BIND(sym.Info) == elf.STB_LOCAL:
			// a label gcc gives a constant (.LC0 in .rodata.cst4): what it
			// holds, one entry of a merged section or up to its end
			sec := f.Sections[sym.Section]
			end := sec.Size
			if sec.Entsize > 0 && sym.Value+sec.Entsize <= sec.Size {
				end = sym.Value + sec.Entsize
			}
			if c := content(int(sym.Section), sym.Value, end); c != "" {
				return counted.ReplaceAllString(r.name, "N") + "@" + c
			}
		case elf.ST_TYPE(sym.Info) == elf.STT_OBJECT && elf.ST_BIND(sym.Info) == elf.STB_LOCAL:
			if c := content(int(sym.Section), sym.Value, sym.Value+sym.Size); c != "" {
				return counted.ReplaceAllString(r.name, "N") + "@" + c
			}
		}
		return ""
	}
	for _, rs := range relsOf {
		for i, r := range rs {
			if n := localName(r); n != "" {
				rs[i].name = n
			}
		}
	}
	out := map[string]Func{}
	for _, sym := range syms {
		if !want(sym) || sym.Section == elf.SHN_UNDEF || int(sym.Section) >= len(f.Sections) {
			continue
		}
		sec := f.Sections[sym.Section]
		if sec.Type == elf.SHT_NOBITS {
			// zeroed data (.bss): its size is all there is to compare (a
			// buffer a fix enlarges)
			fn := Func{Name: sym.Name, Section: sec.Name, Size: sym.Size, Data: true}
			h := sha256.Sum256([]byte(fmt.Sprintf("bss\x00%d", sym.Size)))
			fn.Sum = h
			out[sym.Name] = fn
			continue
		}
		data, err := dataOf(int(sym.Section))
		if err != nil {
			return nil, err
		}
		start, end := sym.Value, sym.Value+sym.Size
		if end > uint64(len(data)) || start > end {
			continue
		}
		h := sha256.New()
		rs := relsOf[int(sym.Section)]
		if f.Machine == elf.EM_X86_64 && elf.ST_TYPE(sym.Info) == elf.STT_FUNC && sec.Flags&elf.SHF_EXECINSTR != 0 {
			patched := map[uint64]string{}
			for _, r := range rs {
				if r.off >= start && r.off < end {
					for b := uint64(0); b < 4; b++ {
						patched[r.off-start+b] = r.name
					}
				}
			}
			h.Write(canonical(data[start:end], patched))
		} else {
			h.Write(data[start:end])
		}
		var fn Func
		for _, r := range rs {
			if r.off < start || r.off >= end {
				continue
			}
			if ftraceEntry[r.name] && r.off-start < traceWindow {
				fn.Traceable = true
			}
			fmt.Fprintf(h, "\x00%d\x00%d\x00%s%s", r.off-start, r.typ, r.name, r.addend())
		}
		fn.Name = sym.Name
		fn.Section = sec.Name
		fn.Size = sym.Size
		fn.Data = elf.ST_TYPE(sym.Info) != elf.STT_FUNC
		copy(fn.Sum[:], h.Sum(nil))
		out[sym.Name] = fn
	}
	if sections {
		covered := map[elf.SectionIndex]bool{}
		for _, sym := range syms {
			if codeSymbol(sym) {
				covered[sym.Section] = true
			}
		}
		for i, sec := range f.Sections {
			if sec.Flags&elf.SHF_ALLOC == 0 || sec.Type != elf.SHT_PROGBITS || sec.Size == 0 || covered[elf.SectionIndex(i)] {
				continue
			}
			if derivedSection(sec.Name) {
				continue
			}
			d, err := dataOf(i)
			if err != nil {
				return nil, err
			}
			if sec.Name == "__bug_table" && len(d)%12 == 0 {
				// struct bug_entry (relative pointers, verbose): the line
				// moves with any line added above it; the flags (once,
				// warning, taint) are what the entry does
				d = slices.Clone(d)
				for e := 0; e+12 <= len(d); e += 12 {
					d[e+8], d[e+9] = 0, 0
				}
			}
			name := "[section " + counted.ReplaceAllString(sec.Name, "N") + "]"
			fn := Func{Name: name, Section: sec.Name, Size: sec.Size, Data: true}
			fn.Sum = sha256.Sum256([]byte(hashRange(d, plain[i], 0, sec.Size) + "\x00" + name))
			if prev, ok := out[name]; ok {
				// two sections of one name (.text.unlikely.N): one entry
				fn.Sum = sha256.Sum256(append(prev.Sum[:], fn.Sum[:]...))
			}
			out[name] = fn
		}
	}
	return out, nil
}

// derivedSection reports whether a section only restates the code (the
// unwinder's tables, objtool's lists of call and return sites, ftrace's
// call sites): it changes when a function does, and is not compared on
// its own.
func derivedSection(name string) bool {
	for _, p := range []string{".orc_", ".return_sites", ".call_sites", ".retpoline_sites", ".ibt_endbr_seal", "__mcount_loc",
		"__patchable_function_entries", ".discard", ".note", ".eh_frame", ".text", ".init.text", ".exit.text", ".rodata.str", ".rodata.cst"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// rel is one relocation of a section.
type rel struct {
	off  uint64
	typ  uint32
	name string // what it refers to (a string literal's text, a symbol)
	sym  int    // index into the symbol table, -1 for none
	add  int64  // addend
	// named: the target is a named symbol, so the addend (the place in
	// it) is part of the identity; a section symbol's addend moves with
	// unrelated data
	named bool
}

// addend is what the relocation's addend adds to its identity.
// target is the offset in its symbol a relocation points at: the addend,
// less the bias of a PC-relative one (the 4-byte field it is measured from).
func (r rel) target() int64 {
	if t := elf.R_X86_64(r.typ); t == elf.R_X86_64_PC32 || t == elf.R_X86_64_PLT32 {
		return r.add + 4
	}
	return r.add
}

func (r rel) addend() string {
	if r.named {
		return fmt.Sprintf("%+d", r.add)
	}
	return ""
}

// hashRange hashes bytes [start, end) of a section's data d with the
// relocations in that range (their targets' numbers left out), or "" when
// the range is outside d.
func hashRange(d []byte, rels []rel, start, end uint64) string {
	if end > uint64(len(d)) || start > end {
		return ""
	}
	h := sha256.New()
	h.Write(d[start:end])
	for _, r := range rels {
		if r.off >= start && r.off < end {
			fmt.Fprintf(h, "\x00%d\x00%d\x00%s%s", r.off-start, r.typ, counted.ReplaceAllString(r.name, "N"), r.addend())
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:8])
}

// counted matches the numbers gcc and __COUNTER__ put in local names.
var counted = regexp.MustCompile(`[0-9]+`)

// stringAt returns the NUL-terminated string a relocation points at. For
// PC-relative relocations the addend is biased by the 4-byte field.
func stringAt(data []byte, off int64, typ elf.R_X86_64) string {
	if typ == elf.R_X86_64_PC32 || typ == elf.R_X86_64_PLT32 {
		off += 4
	}
	if off < 0 || off >= int64(len(data)) {
		return "?"
	}
	end := off
	for end < int64(len(data)) && data[end] != 0 {
		end++
	}
	return string(data[off:end])
}

// Change is how one function differs.
type Change struct {
	Name string
	How  string // "changed", "new", "removed"
}

// Compare lists the functions that differ from a to b, sorted by name.
func Compare(a, b map[string]Func) []Change {
	var out []Change
	for n, fb := range b {
		fa, ok := a[n]
		switch {
		case !ok:
			out = append(out, Change{n, "new"})
		case fa.Sum != fb.Sum:
			out = append(out, Change{n, "changed"})
		}
	}
	for n := range a {
		if _, ok := b[n]; !ok {
			out = append(out, Change{n, "removed"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BaseName strips compiler suffixes (".constprop.0", ".isra.0", ".part.0",
// ".cold") so clones are reported under the function they came from.
func BaseName(n string) string {
	if i := strings.IndexByte(n, '.'); i > 0 {
		return n[:i]
	}
	return n
}

// LocalStatics counts the function-scope static variables of an object by
// name. gcc names them NAME.N (__already_done.3); a file-scope static keeps
// its plain name and is not counted. Two builds with the same counts have
// the same static local data, whatever their code.
func LocalStatics(path string) (map[string]int, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := map[string]int{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_OBJECT || elf.ST_BIND(s.Info) != elf.STB_LOCAL {
			continue
		}
		if int(s.Section) < len(f.Sections) && strings.HasPrefix(f.Sections[s.Section].Name, ".discard") {
			// the linker drops it (__ADDRESSABLE() of static_call(),
			// for one): no data the running kernel has
			continue
		}
		i := strings.LastIndexByte(s.Name, '.')
		if i <= 0 || strings.Trim(s.Name[i+1:], "0123456789") != "" || i == len(s.Name)-1 {
			continue
		}
		out[s.Name[:i]]++
	}
	return out, nil
}
