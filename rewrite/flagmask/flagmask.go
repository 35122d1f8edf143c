// Package flagmask is the transform for flags a patch re-encodes as masks
// of a word that stays: a new constant that takes an old one's place
// (GENL_MCAST_CAP_NET_ADMIN where GENL_UNS_ADMIN_PERM was), and a member
// whose state moves into a mask of the word (u8 cap_sys_admin:1 becomes
// GENL_MCAST_CAP_SYS_ADMIN in flags). Objects that exist when the
// livepatch loads hold the running kernel's encoding, static tables
// (registered long ago, often const) included, and a livepatch cannot
// write them again; so the patched code keeps that encoding. In data the
// old constant and the member's designator come back, and a changed line
// that then says what it said before, token for token, goes back to its
// original text. In functions a test of the moved mask calls a generated
// reader of the member and a renamed constant a generated function that
// gives the old one: verify then finds the function upstream's but for
// calls of the rewrite's own functions.
//
// Before (upstream), in struct genl_multicast_group and its users:
//
//	removed: u8 cap_sys_admin:1;
//	was:     { .name = "events", .cap_sys_admin = 1 },
//	becomes: { .name = "events", .flags = GENL_MCAST_CAP_SYS_ADMIN, },
//	was:     if ((grp->flags & GENL_UNS_ADMIN_PERM) &&
//	becomes: if ((grp->flags & GENL_MCAST_CAP_NET_ADMIN) &&
//	was:     if (grp->cap_sys_admin &&
//	becomes: if ((grp->flags & GENL_MCAST_CAP_SYS_ADMIN) &&
//
// After (rewritten): the header keeps cap_sys_admin, the table's line is
// the original one, and genl_bind() reads
//
//	if ((grp->flags & running_genl_mcast_cap_net_admin()) &&
//	if (genl_multicast_group_get_cap_sys_admin(grp) &&
//
// A new constant is taken for an old one only on the patch's own
// evidence: lines it changes that differ in that one name, one of them in
// a function; both constants one bit by their definitions; the new one
// used only as a mask and nowhere in a header the patch changes; every
// function that uses it its original definition once the new names go
// back; the old constant never dropped otherwise; and every use on the
// word of a member that moves into a mask, whose uses the compiler found.
// A member's state is taken back from a mask only when the compiler finds
// every use of the word in the patched files to be a test of a mask
// ("(x->flags & C)" as an operand of &&, ||, ! or the condition of
// if/while) or an initializer's ".flags = C", each with the moved mask or
// a new constant taken for an old one, and no object of the struct there
// is initialized by position (gcc says where, asked with the struct
// declared designated_init; "{ 0 }" sets no flag): any other use of the
// word (an assignment, a copy, a test of another mask) would see the
// moved bit upstream, which the objects hold in the member instead.
package flagmask

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/flagback"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the flagmask transform.
var Transform = &rewrite.Transform{
	Name: "flagmask",
	Doc: "flags the patch re-encodes as masks of a word that stays (a new constant in an old one's place, a member's state moved into a mask) " +
		"keep the running kernel's encoding in the patched code, which its objects and static tables hold; lines that then say what they said before go back to their original text",
	Kinds:         []hazard.Kind{hazard.StructLayout, hazard.DataInit},
	Opportunistic: true,
	Run:           run,
}

// renamed is a new constant the patch puts in an old one's place.
type renamed struct {
	old, new string
	lines    []string // "file:line" of the changed lines that show it
	fn       string   // the function that gives old, for code
}

// moved is a removed member whose state upstream keeps in a mask of a
// word of the same struct.
type moved struct {
	entry  *rewrite.Entry
	mask   string // the new constant
	word   string
	uses   []maskUse
	others []string // the word's other constants in the patched code (renamed ones)
	// constantsAt are the constants ("file:offset") of every use of the
	// word the compiler found in the patched sources
	constantsAt []string
	getter      string
	// where the member goes back in the header
	restore struct {
		at          int
		text, where string
	}
}

// maskUse is one test or initializer of the word with a constant.
type maskUse struct {
	file     string
	line     int
	off, end int    // the text replaced when the constant is moved
	obj, sep string // a test's object expression and "->" or "."
	init     bool   // ".word = K" in an initializer
	constant string // K
	kAt      int    // K's offset
}

func run(p *rewrite.Pass) error {
	srcs := p.CurrentSources()
	renames := findRenames(p, srcs)
	masksOnly(p, srcs, renames)
	var ms []*moved
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MemberRemoved || ch.PreMember == nil || ch.PreStruct == nil || ch.PostStruct == nil {
			continue
		}
		mask, _ := flagback.Successor(p, ch)
		if mask == "" || !usedAsMask(p, srcs, mask) {
			continue
		}
		m := &moved{entry: e, mask: mask}
		if why := m.check(p, srcs, renames); why != "" {
			p.Refuse(e, why)
			continue
		}
		ms = append(ms, m)
	}
	reencodeOnly(p, srcs, renames, ms)
	// a rename stands only on a word whose every use in the patched code
	// the compiler found (a moved member's), and a moved member only with
	// the renames its word's tests use: drop either until both hold
	for changed := true; changed; {
		changed = false
		for n := range renames {
			if !onCheckedWord(p, srcs, n, ms) {
				delete(renames, n)
				changed = true
			}
		}
		kept := ms[:0]
		for _, m := range ms {
			if k := m.lostRename(renames); k != "" {
				p.Refuse(m.entry, fmt.Sprintf("the patched code tests the word %s with %s too, which kprewrite cannot show to be a new name of an old constant", m.word, k))
				changed = true
				continue
			}
			kept = append(kept, m)
		}
		ms = kept
	}
	for _, m := range ms {
		tag := strings.TrimPrefix(strings.TrimPrefix(key(m.entry.Change), "struct "), "union ")
		m.getter = p.UniqueName(tag + "_get_" + m.entry.Change.Member)
	}
	if len(renames) == 0 && len(ms) == 0 {
		return nil
	}
	// the replacements, by file: every use of a renamed constant in the
	// patched sources the config builds (in a function, a call of a
	// function that gives the old constant: verify then finds the function
	// upstream's but for calls of the rewrite's own functions; in data,
	// the old constant itself), and every use of a moved mask
	type repl struct {
		off, end int
		text     string
	}
	byFile := map[string][]repl{}
	code := map[string][]string{} // file -> its accessors
	for _, file := range srcs {
		f := p.Parse(file)
		defined := map[string]bool{}
		toks := sites.CodeTokens(f)
		for i, t := range toks {
			r, ok := renames[t.Text]
			if !ok || t.Kind != ast.Ident {
				continue
			}
			if f.FuncAt(t.Off) == nil || designated(toks, i) {
				// data, or an initializer (a static local's must stay
				// constant): the old constant itself
				byFile[file] = append(byFile[file], repl{t.Off, t.End, r.old})
				continue
			}
			if r.fn == "" {
				r.fn = p.UniqueName("running_" + strings.ToLower(r.new))
			}
			byFile[file] = append(byFile[file], repl{t.Off, t.End, r.fn + "()"})
			if !defined[r.new] {
				defined[r.new] = true
				code[file] = append(code[file], fmt.Sprintf("static inline typeof(%s) %s(void)\n{\n\treturn %s;\n}\n", r.old, r.fn, r.old))
			}
		}
	}
	for _, m := range ms {
		ch := m.entry.Change
		got := map[string]bool{}
		for _, u := range m.uses {
			if u.constant != m.mask {
				continue
			}
			text := "." + ch.Member + " = 1"
			if !u.init {
				text = fmt.Sprintf("%s(%s)", m.getter, cexpr.AddressOf(u.obj, u.sep == "->"))
				if !got[u.file] {
					got[u.file] = true
					code[u.file] = append(code[u.file], fmt.Sprintf("static inline bool %s(const %s *s)\n{\n\treturn s->%s;\n}\n", m.getter, key(ch), ch.Member))
				}
			}
			byFile[u.file] = append(byFile[u.file], repl{u.off, u.end, text})
		}
	}
	// a patched file the config does not build: only its data, which
	// needs no compiler to read, takes the old encoding too, so that the
	// patch stays one encoding for a config that builds it
	for _, file := range p.Touched() {
		if !strings.HasSuffix(file, ".c") || slices.Contains(srcs, file) || p.Original(file) == nil || p.File(file) == nil {
			continue
		}
		f := p.Parse(file)
		toks := sites.CodeTokens(f)
		for i, t := range toks {
			if t.Kind != ast.Ident || f.FuncAt(t.Off) != nil {
				continue
			}
			if r, ok := renames[t.Text]; ok {
				byFile[file] = append(byFile[file], repl{t.Off, t.End, r.old})
				continue
			}
			for _, m := range ms {
				if t.Text != m.mask || i < 2 || toks[i-2].Text != m.word {
					continue
				}
				if u, why := maskAt(f, toks, i-2); why == "" && u.init {
					byFile[file] = append(byFile[file], repl{u.off, u.end, "." + m.entry.Change.Member + " = 1"})
				}
			}
		}
	}
	rewritten := map[string][]byte{} // file -> its text after the replacements
	for _, file := range slices.Sorted(maps.Keys(byFile)) {
		rs := byFile[file]
		cur, orig := p.File(file), p.Original(file)
		if cs := code[file]; len(cs) > 0 {
			pf := p.Parse(file)
			at := gen.InsertionPoint(pf)
			head := gen.Comment("", append([]string{gen.Banner + ": the running kernel's flag encoding."},
				gen.Wrap(gen.Generated+" Upstream re-encodes flags the running kernel's objects, static tables included, hold in the old encoding: the patched code reads that one.", 76)...)...)
			rs = append(rs, repl{at, at, gen.Styled(file, gen.InsertText(pf.Src, at, head+gen.Join(cs)))})
		}
		slices.SortFunc(rs, func(a, b repl) int { return a.off - b.off })
		apply := func(off, end int) (string, bool) {
			var b strings.Builder
			at, any := off, false
			for _, r := range rs {
				if r.off < off || r.end > end || r.off == end && r.end == end && end != len(cur) {
					continue
				}
				b.Write(cur[at:r.off])
				b.WriteString(r.text)
				at, any = r.end, true
			}
			b.Write(cur[at:end])
			return b.String(), any
		}
		// the changed runs of lines go back to the original where the
		// replacements make them say what they said before
		var desired strings.Builder
		pos, cpos := 0, 0
		for _, r := range edit.Diff(file, orig, cur) {
			same, _ := apply(cpos, cpos+r.Off-pos)
			desired.WriteString(same)
			cpos += r.Off - pos
			text, any := apply(cpos, cpos+len(r.Text))
			if any && sameCode(string(orig[r.Off:r.End]), text) {
				desired.Write(orig[r.Off:r.End])
			} else {
				desired.WriteString(text)
			}
			cpos += len(r.Text)
			pos = r.End
		}
		rest, _ := apply(cpos, len(cur))
		desired.WriteString(rest)
		rewritten[file] = []byte(desired.String())
		for _, e := range edit.Diff(file, cur, rewritten[file]) {
			e.Why = "the running kernel's flag encoding"
			p.Edit(e)
		}
	}
	for _, m := range ms {
		m.apply(p)
	}
	var notes []string
	for _, r := range sortedRenames(renames) {
		notes = append(notes, fmt.Sprintf("%s takes %s's place (%s)", r.new, r.old, strings.Join(r.lines, ", ")))
	}
	if len(notes) > 0 {
		p.Note(rewrite.Finding{File: srcs[0], Line: 1, Subject: "flag encoding",
			Reason: "the patched code keeps the running kernel's constants: " + strings.Join(notes, "; ") +
				"; data and callers outside the patch hold the old constants, which the patched code reads as the running kernel does"})
	}
	// data whose initializer the replacements give back its original text
	for _, e := range p.Entries {
		text, ok := rewritten[e.File]
		if e.ResolvedBy != "" || e.Kind != hazard.DataInit || !ok {
			continue
		}
		if sameVar(p.Original(e.File), text, e.File, e.Subject) {
			p.Resolve(e, "the initializer stays as it is: the patch only re-encodes its flags, and the patched code reads the running kernel's encoding (see the flag encoding note)")
		}
	}
	return nil
}

// findRenames collects the new constants the patch puts in old ones'
// places, in the patched sources the config builds.
func findRenames(p *rewrite.Pass, srcs []string) map[string]*renamed {
	added, removed := constants(p)
	out := map[string]*renamed{}
	bad := map[string]bool{}
	inFunc := map[string]bool{}  // a pair of lines inside a function
	dropped := map[string]bool{} // a name a changed line drops without a pair
	for _, file := range srcs {
		orig, cur := p.Original(file), p.File(file)
		if orig == nil {
			continue
		}
		pf := p.Parse(file)
		pos, cpos := 0, 0
		for _, r := range edit.Diff(file, orig, cur) {
			cpos += r.Off - pos
			ol := strings.SplitAfter(string(orig[r.Off:r.End]), "\n")
			nl := strings.SplitAfter(r.Text, "\n")
			first := strings.Count(string(orig[:r.Off]), "\n") + 1
			// a name the region's old lines hold more often than its new
			// ones, on lines that are not a rename's pair: the patch does
			// more with it than put a new constant in its place
			oldN, newN := map[string]int{}, map[string]int{}
			at := cpos
			for i := range max(len(ol), len(nl)) {
				o, n, ok := "", "", false
				if len(ol) == len(nl) {
					o, n, ok = oneToken(ol[i], nl[i])
				}
				ok = ok && added[n] && !added[o] && !removed[o]
				if !ok {
					if i < len(ol) {
						for _, t := range code(ol[i]) {
							oldN[t]++
						}
					}
					if i < len(nl) {
						for _, t := range code(nl[i]) {
							newN[t]++
						}
					}
				}
				if ok {
					if prev := out[n]; prev != nil && prev.old != o {
						bad[n] = true
					}
					if out[n] == nil {
						out[n] = &renamed{old: o, new: n}
					}
					out[n].lines = append(out[n].lines, fmt.Sprintf("%s:%d", file, first+i))
					if pf.FuncAt(at) != nil {
						inFunc[n] = true
					}
				}
				if i < len(nl) {
					at += len(nl[i])
				}
			}
			for t, k := range oldN {
				if k > newN[t] {
					dropped[t] = true
				}
			}
			cpos += len(r.Text)
			pos = r.End
		}
	}
	olds := map[string]int{}
	for n, r := range out {
		olds[r.old]++
		if !inFunc[n] || dropped[r.old] {
			bad[n] = true // no code that tests the constant switched, or code that changes more
		}
	}
	for n, r := range out {
		if olds[r.old] > 1 {
			bad[n] = true
		}
	}
	// no definition of the patched code names both constants, and no
	// macro of it names the new one: the code keeps one encoding
	for _, file := range srcs {
		f := p.Parse(file)
		for n, r := range out {
			for _, mac := range f.Macros {
				if slices.Contains(ast.Idents(mac.Body), n) {
					bad[n] = true
				}
			}
			for _, fn := range f.Funcs {
				if names(f, fn.Span, n) && names(f, fn.Span, r.old) {
					bad[n] = true
				}
			}
			for _, v := range f.Vars {
				if names(f, v.Span, n) && names(f, v.Span, r.old) {
					bad[n] = true
				}
			}
		}
	}
	// a header the patch changes that names the new constant (a macro or
	// an inline testing it) is code kprewrite does not map
	for _, h := range p.Touched() {
		if !change.IsHeader(h) || p.File(h) == nil {
			continue
		}
		hf := p.Parse(h)
		for n := range out {
			if slices.ContainsFunc(sites.CodeTokens(hf), func(t ast.Token) bool { return t.Text == n }) {
				bad[n] = true
			}
			for _, mac := range hf.Macros {
				if mac.Name != n && slices.Contains(ast.Idents(mac.Body), n) {
					bad[n] = true
				}
			}
		}
	}
	// both constants one bit each, by their definitions: a new name of
	// one flag for another, not a wider mask or an alias of another flag
	for n, r := range out {
		if !bad[n] && (!singleBit(macroBody(p, srcs, n)) || !singleBit(macroBody(p, srcs, r.old))) {
			bad[n] = true
		}
	}
	for n := range bad {
		delete(out, n)
	}
	return out
}

// designated reports whether token i is the value of a designator
// (".flags = C").
func designated(toks []ast.Token, i int) bool {
	return i >= 3 && toks[i-1].Text == "=" && toks[i-2].Kind == ast.Ident && toks[i-3].Text == "."
}

// macroBody returns the body of the object-like macro name as the patched
// sources see it: defined in a file the patch changes, or in a header they
// include (four levels deep); "" when kprewrite finds none, or more than
// one.
func macroBody(p *rewrite.Pass, srcs []string, name string) string {
	var bodies []string
	seen := map[string]bool{}
	look := func(f *ast.File) {
		if seen[f.Name] {
			return
		}
		seen[f.Name] = true
		for _, mac := range f.Macros {
			if mac.Name == name && !mac.Undef && !mac.FuncLike && !slices.Contains(bodies, mac.Body) {
				bodies = append(bodies, mac.Body)
			}
		}
	}
	for _, t := range p.Touched() {
		if p.File(t) != nil {
			look(p.Parse(t))
		}
	}
	level, walked := srcs, map[string]bool{}
	for depth := 0; depth < 4 && len(bodies) == 0; depth++ {
		var next []string
		for _, f := range level {
			for _, h := range p.IncludedHeaders(f) {
				if !walked[h.Name] {
					walked[h.Name] = true
					look(h)
					next = append(next, h.Name)
				}
			}
		}
		level = next
	}
	if len(bodies) != 1 {
		return ""
	}
	return bodies[0]
}

// singleBitRE matches a macro body that is one bit: BIT(n), 1 << n (any
// integer suffix), in parentheses or not.
var singleBitRE = regexp.MustCompile(`^\(*\s*(?:BIT(?:_ULL)?\s*\(\s*\d+\s*\)|_BITU?L{0,2}\s*\(\s*\d+\s*\)|1[uUlL]*\s*<<\s*\(?\s*\d+\s*\)?)\s*\)*$`)

// singleBit reports whether a macro body is one bit: BIT(n), 1 << n, or a
// power of two.
func singleBit(body string) bool {
	b := strings.TrimSpace(body)
	if b == "" {
		return false
	}
	if singleBitRE.MatchString(b) {
		// the bit number: at most 63 (a shift past the type's width is
		// no bit)
		nums := regexp.MustCompile(`\d+`).FindAllString(b, -1)
		n, err := strconv.Atoi(nums[len(nums)-1])
		limit := 63
		if regexp.MustCompile(`(^|[^\w])1\s*<<`).MatchString(b) {
			limit = 30 // a plain int 1: bit 31 would be its sign
		}
		return strings.Count(b, "(") == strings.Count(b, ")") && err == nil && n <= limit
	}
	b = strings.TrimRight(strings.Trim(b, "()"), "uUlL")
	n, err := strconv.ParseUint(b, 0, 64)
	return err == nil && n != 0 && n&(n-1) == 0
}

// onCheckedWord reports whether every use of constant n in the patched
// sources is the constant of a test or initializer of a moved member's
// word, found by the compiler on that member's struct.
func onCheckedWord(p *rewrite.Pass, srcs []string, n string, ms []*moved) bool {
	checked := map[string]bool{}
	for _, m := range ms {
		for _, at := range m.constantsAt {
			checked[at] = true
		}
	}
	any := false
	for _, file := range srcs {
		for _, t := range sites.CodeTokens(p.Parse(file)) {
			if t.Kind != ast.Ident || t.Text != n {
				continue
			}
			if !checked[fmt.Sprintf("%s:%d", file, t.Off)] {
				return false
			}
			any = true
		}
	}
	return any
}

// constants lists the object-like macros and enum constants the patch
// adds and removes.
func constants(p *rewrite.Pass) (added, removed map[string]bool) {
	added, removed = map[string]bool{}, map[string]bool{}
	for _, fc := range p.Changes {
		for _, ch := range fc.Changes {
			switch ch.Kind {
			case change.MacroAdded:
				if ch.PostMacro == nil || !ch.PostMacro.FuncLike {
					added[ch.Name] = true
				}
			case change.MacroRemoved, change.MacroChanged:
				removed[ch.Name] = true
			case change.EnumChanged, change.EnumAdded, change.EnumRemoved:
				pre, post := map[string]bool{}, map[string]bool{}
				if ch.PreEnum != nil {
					for _, v := range ch.PreEnum.Values {
						pre[v.Name] = true
					}
				}
				if ch.PostEnum != nil {
					for _, v := range ch.PostEnum.Values {
						post[v.Name] = true
					}
				}
				for n := range post {
					if !pre[n] {
						added[n] = true
					}
				}
				for n := range pre {
					if !post[n] {
						removed[n] = true
					}
				}
				if ch.Kind == change.EnumChanged {
					// a constant of a changed enum may change its value
					for n := range pre {
						removed[n] = removed[n] || ch.PreEnum != nil && ch.PostEnum != nil && !sameValue(ch.PreEnum, ch.PostEnum, n)
					}
				}
			}
		}
	}
	return added, removed
}

// sameValue reports whether constant n has the same place and value text
// in both versions of an enum.
func sameValue(a, b *ast.Enum, n string) bool {
	ia := slices.IndexFunc(a.Values, func(v ast.Enumerator) bool { return v.Name == n })
	ib := slices.IndexFunc(b.Values, func(v ast.Enumerator) bool { return v.Name == n })
	if ia < 0 || ib < 0 || ia != ib {
		return false
	}
	for k := 0; k <= ia; k++ {
		if a.Values[k].Name != b.Values[k].Name || a.Values[k].Value != b.Values[k].Value {
			return false
		}
	}
	return true
}

// oneToken compares two lines' code tokens: they differ in exactly one
// identifier, o in the first and n in the second.
func oneToken(a, b string) (o, n string, ok bool) {
	ta, tb := trailingCommas(code(a)), trailingCommas(code(b))
	if len(ta) != len(tb) {
		return "", "", false
	}
	for i := range ta {
		if ta[i] == tb[i] {
			continue
		}
		if o != "" || !ast.IsIdent(ta[i]) || !ast.IsIdent(tb[i]) {
			return "", "", false
		}
		o, n = ta[i], tb[i]
	}
	return o, n, o != ""
}

// code is the code tokens of text, comments left out.
func code(text string) []string {
	var out []string
	for _, t := range ast.Tokenize([]byte(text)) {
		if t.Kind != ast.Comment {
			out = append(out, t.Text)
		}
	}
	return out
}

// sameCode reports whether two texts are the same code, a comma before a
// closing brace (a trailing comma of an initializer) aside.
func sameCode(a, b string) bool {
	return slices.Equal(trailingCommas(code(a)), trailingCommas(code(b)))
}

func trailingCommas(ts []string) []string {
	var out []string
	for i, t := range ts {
		if t == "," && i+1 < len(ts) && ts[i+1] == "}" {
			continue
		}
		out = append(out, t)
	}
	return out
}

// sameVar reports whether variable name has the same code in both texts.
func sameVar(orig, cur []byte, file, name string) bool {
	fo, fc := ast.Parse(file, orig), ast.Parse(file, cur)
	var vo, vc *ast.Var
	for _, v := range fo.Vars {
		if v.Name == name {
			vo = v
		}
	}
	for _, v := range fc.Vars {
		if v.Name == name {
			vc = v
		}
	}
	return vo != nil && vc != nil && sameCode(string(orig[vo.Span.Off:vo.Span.End]), string(cur[vc.Span.Off:vc.Span.End]))
}

// names reports whether span s of f names identifier n in its code.
func names(f *ast.File, s ast.Span, n string) bool {
	for _, t := range f.CodeTokens(s) {
		if t.Kind == ast.Ident && t.Text == n {
			return true
		}
	}
	return false
}

func sortedRenames(rs map[string]*renamed) []*renamed {
	var out []*renamed
	for _, n := range slices.Sorted(maps.Keys(rs)) {
		out = append(out, rs[n])
	}
	return out
}

// masksOnly drops the renames whose new constant the patched sources use
// other than as a mask: in a test of a word ("(x->flags & C)", its truth
// only) or a static initializer (".flags = C"). Only as a flag does a new
// name in an old one's place mean the same state; "mode > RING_MODE_BATCH"
// where "mode > RING_MODE_IRQ" was extends a range.
func masksOnly(p *rewrite.Pass, srcs []string, renames map[string]*renamed) {
	for _, file := range srcs {
		f := p.Parse(file)
		toks := sites.CodeTokens(f)
		for i, t := range toks {
			if _, ok := renames[t.Text]; !ok || t.Kind != ast.Ident {
				continue
			}
			if u, why := maskAt(f, toks, i-2); i < 2 || why != "" || u.constant != t.Text {
				delete(renames, t.Text)
			}
		}
	}
}

// reencodeOnly drops the renames used in a function that changes more than
// the encoding: with every new constant back to its old one and every
// test of a moved mask back to a read of its member, each function of the
// patched sources that uses one must be its original definition, token for
// token. That the patch does nothing else there is what shows the new
// constant stands for the old one.
func reencodeOnly(p *rewrite.Pass, srcs []string, renames map[string]*renamed, ms []*moved) {
	bad := map[string]bool{}
	for _, file := range srcs {
		f := p.Parse(file)
		of := ast.Parse(file, p.Original(file))
		for _, fn := range f.Funcs {
			used := map[string]bool{}
			for _, t := range f.CodeTokens(fn.Span) {
				if _, ok := renames[t.Text]; ok && t.Kind == ast.Ident {
					used[t.Text] = true
				}
			}
			if len(used) == 0 {
				continue
			}
			type sub struct {
				off, end int
				text     string
			}
			var subs []sub
			for _, t := range f.CodeTokens(fn.Span) {
				if r, ok := renames[t.Text]; ok && t.Kind == ast.Ident {
					subs = append(subs, sub{t.Off, t.End, r.old})
				}
			}
			for _, m := range ms {
				for _, u := range m.uses {
					if u.file == file && !u.init && u.constant == m.mask && u.off >= fn.Span.Off && u.end <= fn.Span.End {
						subs = append(subs, sub{u.off, u.end, u.obj + u.sep + m.entry.Change.Member})
					}
				}
			}
			slices.SortFunc(subs, func(a, b sub) int { return a.off - b.off })
			var b strings.Builder
			at := fn.Span.Off
			for _, x := range subs {
				b.Write(f.Src[at:x.off])
				b.WriteString(x.text)
				at = x.end
			}
			b.Write(f.Src[at:fn.Span.End])
			ofn := of.Func(fn.Name)
			if ofn == nil || !slices.Equal(code(b.String()), code(string(of.Src[ofn.Span.Off:ofn.Span.End]))) {
				for n := range used {
					bad[n] = true
				}
			}
		}
	}
	for n := range bad {
		delete(renames, n)
	}
}

// usedAsMask reports whether a patched source names the constant after
// "&" or "=" (a mask, not a bit number).
func usedAsMask(p *rewrite.Pass, srcs []string, c string) bool {
	for _, file := range srcs {
		toks := sites.CodeTokens(p.Parse(file))
		for i, t := range toks {
			if t.Text == c && i > 0 && (toks[i-1].Text == "&" || toks[i-1].Text == "=") {
				return true
			}
		}
	}
	return false
}
