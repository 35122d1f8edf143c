package verify

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/layout"
)

// A bitfield claim is a generated accessor block of the bitfield
// transform: "kprewrite: generated for livepatching: struct port.drift in
// spare bits." followed by PORT_DRIFT_UNIT/_SHIFT/_MASK macros.
var claimRE = regexp.MustCompile(`kprewrite: (struct|union) (\w+)\.(\w+) in spare bits\.`)

type bitfieldClaim struct {
	file, key, member, prefix string
	probe                     string
}

func bitfieldClaims(files map[string][]byte) []bitfieldClaim {
	var out []bitfieldClaim
	var names []string
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if !strings.HasSuffix(f, ".c") {
			continue
		}
		for i, m := range claimRE.FindAllStringSubmatch(string(files[f]), -1) {
			prefix := strings.ToUpper(m[2] + "_" + m[3])
			if !strings.Contains(string(files[f]), "#define "+prefix+"_UNIT") {
				continue
			}
			out = append(out, bitfieldClaim{file: f, key: m[1] + " " + m[2], member: m[3], prefix: prefix,
				probe: fmt.Sprintf("__kprewrite_bitfield_probe_%d", i)})
		}
	}
	return out
}

// probeText is appended to the rewritten file: gcc evaluates the macros.
func (c bitfieldClaim) probeText() string {
	return fmt.Sprintf("\nconst unsigned long %s[3] __attribute__((__used__)) = { %s_UNIT, %s_SHIFT, %s_MASK };\n",
		c.probe, c.prefix, c.prefix, c.prefix)
}

// bitfieldCheck compares what the accessors address (as gcc evaluates
// their macros in the rewritten tree) with where the upstream compiler puts
// the member (DWARF of the original build). Where upstream inserts the bit
// in the middle of its group (moving the bits after it), the accessors may
// use other bits instead: those must have the upstream width, lie in one
// storage unit of the member's type, and be used by no member of the
// running kernel's layout (DWARF of the base build).
func bitfieldCheck(claims []bitfieldClaim, rewritten []*build.Result, orig, base layout.Layouts) Check {
	c := Check{Name: "bitfields", OK: true}
	obj := map[string]string{}
	for _, r := range rewritten {
		obj[r.Source] = r.Object
	}
	proven := 0
	for _, cl := range claims {
		o := obj[cl.file]
		vals, err := layout.ReadULongs(o, cl.probe)
		if o == "" || err != nil || len(vals) != 3 {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s: %s.%s: cannot evaluate the accessor macros (%v)", cl.file, cl.key, cl.member, err))
			continue
		}
		unit, shift, mask := vals[0], vals[1], vals[2]
		up, ok := orig[cl.key]
		var m layout.Member
		if ok {
			m, ok = up.Member(cl.member)
		}
		if !ok || !m.IsBitfield() {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s.%s: the upstream build has no such bitfield to compare with", cl.key, cl.member))
			continue
		}
		bit := int64(unit*8 + shift)
		if bit != m.BitOffset && mask == uint64(1)<<uint(m.BitSize)-1 {
			why := spareIn(base[cl.key], m, bit)
			if why != "" {
				c.OK = false
				c.Details = append(c.Details, fmt.Sprintf("%s: %s.%s: accessors use bit %d, not where upstream gcc puts it (bit %d), and %s",
					cl.file, cl.key, cl.member, bit, m.BitOffset, why))
				continue
			}
			proven++
			c.Details = append(c.Details, fmt.Sprintf("%s: %s.%s: accessors use byte %d bit %d, a spare bit of the running kernel's layout (upstream puts it at bit %d and moves the bits after it)",
				cl.file, cl.key, cl.member, unit, shift, m.BitOffset))
			continue
		}
		if bit != m.BitOffset || mask != uint64(1)<<uint(m.BitSize)-1 {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s: %s.%s: accessors use bit %d, width mask %#x; upstream gcc puts it at bit %d, %d bits",
				cl.file, cl.key, cl.member, bit, mask, m.BitOffset, m.BitSize))
			continue
		}
		proven++
		bits := fmt.Sprintf("bit %d", shift)
		if m.BitSize > 1 {
			bits = fmt.Sprintf("bits %d-%d", shift, int64(shift)+m.BitSize-1)
		}
		c.Details = append(c.Details, fmt.Sprintf("%s: %s.%s: accessors use byte %d %s, exactly where the upstream compiler puts the member",
			cl.file, cl.key, cl.member, unit, bits))
	}
	c.Summary = fmt.Sprintf("%d bitfield accessors compared with the upstream layout: %d exact or in spare bits", len(claims), proven)
	return c
}

// spareIn says why bits [bit, bit+m.BitSize) are not spare bits of base
// for a member like m, or "" when they are.
func spareIn(base *layout.Struct, m layout.Member, bit int64) string {
	if base == nil {
		return "the base build has no layout of the struct"
	}
	unit := max(m.Size, 1) * 8
	if bit < 0 || bit/unit != (bit+m.BitSize-1)/unit || bit+m.BitSize > base.Size*8 {
		return fmt.Sprintf("bits %d-%d do not lie in one %d-byte unit of the struct", bit, bit+m.BitSize-1, m.Size)
	}
	for _, bm := range base.Members {
		if strings.Contains(bm.Name, ".") {
			continue
		}
		start, end := bm.Offset*8, (bm.Offset+bm.Size)*8
		if bm.IsBitfield() {
			start, end = bm.BitOffset, bm.BitOffset+bm.BitSize
		}
		if bit < end && start < bit+m.BitSize {
			return "the running kernel's " + bm.Name + " uses them"
		}
	}
	return ""
}
