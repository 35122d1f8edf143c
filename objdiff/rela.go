package objdiff

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Rela is one x86-64 relocation with addend, as an ELF64 SHT_RELA section
// holds it: the place it patches in its target section, its type, the
// index of the symbol it refers to in the slice elf.File.Symbols returns
// (-1 for none) and the addend.
type Rela struct {
	Target elf.SectionIndex // the section it patches
	Off    uint64
	Type   elf.R_X86_64
	Sym    int
	Addend int64
}

// At is the offset in its symbol a relocation points at: the addend, less
// the bias of a PC-relative one (measured from the end of its 4-byte
// field).
func (r Rela) At() int64 {
	if r.Type == elf.R_X86_64_PC32 || r.Type == elf.R_X86_64_PLT32 {
		return r.Addend + 4
	}
	return r.Addend
}

// relaSize is the size of an Elf64_Rela entry.
const relaSize = 24

// Relocations reads every SHT_RELA section of f whose target section
// exists, in section order and, within one, in the order of the file.
// debug/elf applies relocations only to DWARF; the comparisons here need
// them as data.
func Relocations(f *elf.File) ([]Rela, error) {
	var out []Rela
	for _, s := range f.Sections {
		if s.Type != elf.SHT_RELA || int(s.Info) >= len(f.Sections) {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Name, err)
		}
		for i := 0; i+relaSize <= len(data); i += relaSize {
			info := binary.LittleEndian.Uint64(data[i+8:])
			out = append(out, Rela{
				Target: elf.SectionIndex(s.Info),
				Off:    binary.LittleEndian.Uint64(data[i:]),
				Type:   elf.R_X86_64(uint32(info)),
				Sym:    int(info>>32) - 1,
				Addend: int64(binary.LittleEndian.Uint64(data[i+16:])),
			})
		}
	}
	return out, nil
}
