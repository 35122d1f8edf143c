package objdiff

import (
	"bytes"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// endbr64 starts a function an indirect branch may reach (CONFIG_X86_KERNEL_IBT).
var endbr64 = []byte{0xf3, 0x0f, 0x1e, 0xfa}

// canonical returns a function's x86-64 code with the equality tests gcc
// writes either way round in one direction: "cmp %edx,0x10(%rax)" (opcode
// 0x39) and "cmp 0x10(%rax),%edx" (0x3b) set the zero flag alike, and gcc
// picks one or the other from the source's "a != b" or "b == a". Two
// functions that differ only there run the same way when nothing reads
// any flag of the comparison but ZF, which canonical checks along every
// path from it (je, jne, sete, setne, cmove, cmovne read it; an
// instruction that sets every flag, a call or a return ends the path;
// anything else, or code it cannot decode, leaves the bytes as they
// are). The instruction keeps its length, so every offset and relocation
// stays where it was. relocs are the offsets, in code, of the bytes that
// relocations patch, with the names of their targets: a jump through one
// leaves the function, for another function (a tail call, the return
// thunk: flags are dead there) or for the function's own cold part
// ("f.cold", .text.unlikely), where gcc may still read them, which
// canonical does not follow.
func canonical(code []byte, relocs map[uint64]string) []byte {
	type inst struct {
		off int
		in  x86asm.Inst
	}
	var insts []inst
	at := map[int]int{} // offset -> index
	for off := 0; off < len(code); {
		if bytes.HasPrefix(code[off:], endbr64) {
			// x86asm reads it as a lone REP prefix
			at[off] = len(insts)
			insts = append(insts, inst{off, x86asm.Inst{Op: x86asm.NOP, Len: len(endbr64)}})
			off += len(endbr64)
			continue
		}
		in, err := x86asm.Decode(code[off:], 64)
		if err != nil || in.Len == 0 {
			return code
		}
		at[off] = len(insts)
		insts = append(insts, inst{off, in})
		off += in.Len
	}
	relocated := func(i int) bool {
		for b := insts[i].off; b < insts[i].off+insts[i].in.Len; b++ {
			if _, ok := relocs[uint64(b)]; ok {
				return true
			}
		}
		return false
	}
	// cold says whether the relocated jump at i may land where the
	// flags are still read: the function's cold part, or a target
	// kprewrite cannot name
	cold := func(i int) bool {
		for b := insts[i].off; b < insts[i].off+insts[i].in.Len; b++ {
			if n, ok := relocs[uint64(b)]; ok {
				return n == "" || strings.Contains(n, ".cold") || strings.Contains(n, "unlikely")
			}
		}
		return false
	}
	// target is the index a relative jump lands on, -1 out of the code
	target := func(i int) int {
		r, ok := insts[i].in.Args[0].(x86asm.Rel)
		if !ok || relocated(i) {
			return -1
		}
		j, ok := at[insts[i].off+insts[i].in.Len+int(r)]
		if !ok {
			return -1
		}
		return j
	}
	// zfOnly reports whether every path from instruction i on reads no
	// flag but ZF before all of them are set again
	zfOnly := func(i int) bool {
		seen := map[int]bool{}
		work := []int{i}
		for len(work) > 0 {
			j := work[len(work)-1]
			work = work[:len(work)-1]
			for ; j < len(insts) && !seen[j]; j++ {
				seen[j] = true
				if len(seen) > 256 {
					return false
				}
				op := insts[j].in.Op
				switch {
				case zfReaders[op]:
					if op == x86asm.JE || op == x86asm.JNE {
						if relocated(j) && cold(j) {
							return false
						}
						if t := target(j); t >= 0 {
							work = append(work, t)
						} else if !relocated(j) {
							return false
						}
					}
				case flagSetters[op]:
					j = len(insts)
				case op == x86asm.JMP:
					if relocated(j) {
						if cold(j) {
							return false
						}
						j = len(insts) // a tail call
						continue
					}
					t := target(j)
					if t < 0 {
						return false // through a register or a table
					}
					work = append(work, t)
					j = len(insts)
				case op == x86asm.CALL || op == x86asm.RET || op == x86asm.UD2 || op == x86asm.INT:
					j = len(insts)
				case !flagless[op]:
					return false
				}
			}
		}
		return true
	}
	var out []byte
	for i, x := range insts {
		if x.in.Op != x86asm.CMP {
			continue
		}
		p := x.off
		for p < x.off+x.in.Len && (legacyPrefix[code[p]] || code[p]&0xf0 == 0x40) {
			p++
		}
		if p >= x.off+x.in.Len || (code[p] != 0x3a && code[p] != 0x3b) || !zfOnly(i+1) {
			continue
		}
		if out == nil {
			out = append([]byte(nil), code...)
		}
		out[p] -= 2 // 0x3a -> 0x38, 0x3b -> 0x39: the operands' roles swap
	}
	if out == nil {
		return code
	}
	return out
}

// legacyPrefix are the prefix bytes an x86 instruction may start with.
var legacyPrefix = map[byte]bool{0x66: true, 0x67: true, 0xf2: true, 0xf3: true, 0x2e: true, 0x3e: true, 0x26: true, 0x64: true, 0x65: true, 0x36: true}

// zfReaders read the zero flag and no other.
var zfReaders = map[x86asm.Op]bool{x86asm.JE: true, x86asm.JNE: true, x86asm.SETE: true, x86asm.SETNE: true, x86asm.CMOVE: true, x86asm.CMOVNE: true}

// flagSetters set every status flag, whatever their operands.
var flagSetters = map[x86asm.Op]bool{x86asm.ADD: true, x86asm.SUB: true, x86asm.CMP: true, x86asm.TEST: true, x86asm.AND: true, x86asm.OR: true, x86asm.XOR: true, x86asm.NEG: true}

// flagless neither read nor write a flag.
var flagless = map[x86asm.Op]bool{
	x86asm.MOV: true, x86asm.MOVZX: true, x86asm.MOVSX: true, x86asm.MOVSXD: true, x86asm.LEA: true,
	x86asm.PUSH: true, x86asm.POP: true, x86asm.NOP: true, x86asm.XCHG: true,
	x86asm.NOT: true, x86asm.BSWAP: true, x86asm.CWDE: true,
	x86asm.CDQE: true, x86asm.CDQ: true, x86asm.CQO: true,
}
