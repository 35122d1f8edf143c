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
// the member (DWARF of the original build).
func bitfieldCheck(claims []bitfieldClaim, rewritten []*build.Result, orig layout.Layouts) Check {
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
	c.Summary = fmt.Sprintf("%d bitfield accessors compared with the upstream layout: %d exact", len(claims), proven)
	return c
}
