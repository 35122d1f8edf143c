package objdiff

import (
	"bytes"
	"strings"
	"testing"
)

// TestCanonicalEquality: "cmp m,r" and "cmp r,m" set ZF alike, so the two
// spellings of an equality test hash alike; an ordered test (jg reads SF
// and OF) keeps its bytes.
func TestCanonicalEquality(t *testing.T) {
	cmpRM := []byte{0x39, 0x50, 0x10}                                    // cmp %edx,0x10(%rax)
	cmpMR := []byte{0x3b, 0x50, 0x10}                                    // cmp 0x10(%rax),%edx
	jne := []byte{0x75, 0x02}                                            // jne +2
	jg := []byte{0x7f, 0x02}                                             // jg +2
	tail := []byte{0x31, 0xc0, 0xc3, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3} // xor %eax,%eax; ret; mov $1,%eax; ret
	code := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, c := range []struct {
		name string
		a, b []byte
		same bool
	}{
		{"jne", code(cmpRM, jne, tail), code(cmpMR, jne, tail), true},
		{"endbr64 first", code(endbr64, cmpRM, jne, tail), code(endbr64, cmpMR, jne, tail), true},
		{"jg", code(cmpRM, jg, tail), code(cmpMR, jg, tail), false},
		{"jg at the jump target", code(cmpRM, []byte{0x74, 0x03}, tail[:3], []byte{0x7f, 0x00}, tail[3:]), code(cmpMR, []byte{0x74, 0x03}, tail[:3], []byte{0x7f, 0x00}, tail[3:]), false},
		{"flags set again", code(cmpRM, []byte{0x85, 0xc0}, jg, tail), code(cmpMR, []byte{0x85, 0xc0}, jg, tail), true},
		{"jne into the cold part", code(cmpRM, []byte{0x0f, 0x85, 0, 0, 0, 0}, tail), code(cmpMR, []byte{0x0f, 0x85, 0, 0, 0, 0}, tail), false},
		{"jne to another function", code(cmpRM, []byte{0x0f, 0x85, 0, 0, 0, 0}, tail), code(cmpMR, []byte{0x0f, 0x85, 0, 0, 0, 0}, tail), true},
	} {
		relocs := map[uint64]string(nil)
		if strings.HasPrefix(c.name, "jne into") || strings.HasPrefix(c.name, "jne to") {
			target := "f.cold"
			if strings.HasPrefix(c.name, "jne to") {
				target = "g"
			}
			relocs = map[uint64]string{5: target, 6: target, 7: target, 8: target}
		}
		ca, cb := canonical(c.a, relocs), canonical(c.b, relocs)
		if got := bytes.Equal(ca, cb); got != c.same {
			t.Errorf("%s: canonical forms equal = %v, want %v (%x, %x)", c.name, got, c.same, ca, cb)
		}
		if len(ca) != len(c.a) {
			t.Errorf("%s: length changed", c.name)
		}
	}
}
