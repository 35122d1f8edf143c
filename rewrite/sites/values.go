package sites

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Value is what an object created by the upstream code holds in a new
// member, derived from the creation sites: what objects that exist before
// a livepatch loads should read.
type Value struct {
	// Zero: every object starts zeroed and nothing on its creation path
	// assigns the member.
	Zero bool
	// Expr, when set, is an expression every creation site assigns to the
	// member, over the object's own fields and constants only, written
	// with the object as the pointer "s" (so it can be computed later for
	// an object that has none yet).
	Expr string
	// Reads are the object's fields Expr reads ("dev" for s->dev->ifindex):
	// the patched files assign none of them after creation.
	Reads []string
	// Evidence says how it was derived (for Zero and Expr), or why the
	// value is not known.
	Evidence string
	// Replaced, when set, says Expr is not what upstream creation gives
	// the member but what the running kernel's code read where upstream
	// now reads the member (see Replaced): the places, "file:line".
	Replaced []string
	// Unpaired are the other reads that need the value (new code, with
	// no old counterpart), "file:line": they read Expr too.
	Unpaired []string
	// Decision, when set, is the engineer's decision the value comes from
	// ("struct X.m=EXPR", --existing): not derived, not proven.
	Decision string
	// Neutral says the value comes from Neutral: with it the patched code
	// treats the object as the running kernel's code does.
	Neutral bool
	// Later, for a creation value (Zero or Expr), says where upstream also
	// writes the member after creation: objects that exist before the
	// livepatch may have passed there without the write (see LaterRead).
	Later string
}

// LaterReads returns a member.Member's Check and Confirm for a member kept
// in storage objects that exist before the livepatch read as 0 (where,
// "the hole"): Check collects the reads, Confirm refuses the member when
// LaterRead says they must not read the creation value.
func LaterReads(p *rewrite.Pass, header, member string, v Value, where string) (check func(string, *cexpr.Access) string, confirm func() string) {
	var reads []Use
	check = func(file string, a *cexpr.Access) string {
		if a.Kind != cexpr.Assign && a.Kind != cexpr.Designator && a.Kind != cexpr.SizeOf {
			reads = append(reads, Use{File: file, Access: a})
		}
		return ""
	}
	confirm = func() string {
		if why := LaterRead(p, header, member, v, reads); why != "" {
			return "objects that exist before the livepatch would read 0 from " + where + ": " + why
		}
		return ""
	}
	return check, confirm
}

// LaterRead says why objects that exist before the livepatch must not
// read the creation value v in a member upstream also writes later
// (v.Later): a read (reads, the member's uses no write precedes) stands
// where the running kernel's code read another expression (Replaced), so
// such an object, having passed the later write under the running
// kernel's code, would read the creation value where it read that
// expression. "" when v has no later writes, is the engineer's decision,
// or every read is new code (there the creation value is a state upstream
// objects hold too until the write).
func LaterRead(p *rewrite.Pass, header, member string, v Value, reads []Use) string {
	if v.Later == "" || v.Decision != "" {
		return ""
	}
	r := Replaced(p, header, member, reads)
	if !r.Known() {
		if r.Evidence != "" {
			return v.Later + "; " + r.Evidence
		}
		return ""
	}
	if v.Zero && zeroRE.MatchString(r.Expr) || v.Expr != "" && v.Expr == r.Expr {
		return "" // what the running kernel read there is the creation value
	}
	return fmt.Sprintf("%s; %s, and such an object would read the creation value there instead", v.Later, r.Evidence)
}

// zeroRE are the spellings of a zero value.
var zeroRE = regexp.MustCompile(`^\(?\s*(0+[uUlL]*|0[xX]0+[uUlL]*|NULL|false|\((?:struct|union) \w+\)\{\s*(?:0\s*)?\})\s*\)?$`)

// decided is the value of a member the engineer decided (Options.Existing).
func decided(p *rewrite.Pass, tag, member string) (Value, bool) {
	for _, key := range []string{"struct " + tag, "union " + tag} {
		e, ok := p.Decision(key, member)
		if !ok {
			continue
		}
		d := key + "." + member + "=" + e
		v := Value{Decision: d, Evidence: fmt.Sprintf("the engineer's decision (--existing %q), not derived from upstream's creation sites", d)}
		if zeroRE.MatchString(strings.TrimSpace(e)) {
			v.Zero = true
		} else {
			v.Expr = strings.TrimSpace(e)
		}
		return v, true
	}
	return Value{}, false
}

// Known reports whether the value existing objects should read is known.
func (v Value) Known() bool { return v.Zero || v.Expr != "" }

// pureRE are functions whose result depends only on their arguments.
var pureRE = regexp.MustCompile(`^(siphash|siphash_\w+|hsiphash|hsiphash_\w+|jhash|jhash2|jhash_\w+|hash_32|hash_64|hash_long|hash_ptr|crc32|crc32c|crc32_le|crc32_be|min|max|min_t|max_t|clamp|clamp_t|ntohl|ntohs|htonl|htons|be16_to_cpu|be32_to_cpu|be64_to_cpu|cpu_to_be16|cpu_to_be32|cpu_to_be64|le16_to_cpu|le32_to_cpu|le64_to_cpu|cpu_to_le16|cpu_to_le32|cpu_to_le64|ARRAY_SIZE|BIT|BIT_ULL|GENMASK|GENMASK_ULL|lower_32_bits|upper_32_bits|sizeof|offsetof)$`)

// typeWordRE are words a cast or sizeof may name.
var typeWordRE = regexp.MustCompile(`^(struct|union|enum|const|volatile|unsigned|signed|char|short|int|long|bool|void|__force|u8|u16|u32|u64|s8|s16|s32|s64|__u8|__u16|__u32|__u64|__s8|__s16|__s32|__s64|__be16|__be32|__be64|__le16|__le32|__le64|size_t)$`)

// CreationValue derives what a newly created "struct tag" (defined in
// header) holds in member: it reads each creation site (the Creation
// fact, or, for a struct allocated from a kmem_cache sized by it, every
// kmem_cache_alloc of that cache) and the code that follows it on the
// creation path (the creating function, and its callers in the same file
// when it returns the object).
//
// An engineer's decision (Options.Existing) comes first: it is what they
// chose objects created before the livepatch read, and Value.Decision
// says so.
func CreationValue(p *rewrite.Pass, header, tag, member string) Value {
	if v, ok := decided(p, tag, member); ok {
		return v
	}
	res, err := Find(p, header, tag)
	var sts []*Site
	method := ""
	if err != nil {
		cs, cerr := cacheSites(p.Session, tag)
		if cerr != "" || len(cs) == 0 {
			return Value{Evidence: "the creation sites are not known (" + err.Error() + ")"}
		}
		sts, method = cs, "every kmem_cache_alloc of the static kmem_cache that "+cs[0].File+" creates sized by struct "+tag+" (read in its text)"
	} else {
		sts, method = res.Sites, res.Method
	}
	var zeroed, exprs, bad, roots []string
	later := ""
	seen := map[string]bool{}
	expr, assignedZero := "", false
	for _, st := range sts {
		switch st.Kind {
		case Copy:
			// a copy holds what its source holds, but a compound literal
			// that names the member is a creation of its own
			// ("*c = (struct conn){ .tier = 2 }")
			if f := p.Parse(st.File); f != nil {
				if at := Locate(f, st); at >= 0 && literalNames(f, at, tag, member) {
					bad = append(bad, fmt.Sprintf("%s:%d in %s sets %s in a compound literal of the struct", st.File, st.Line, st.Fn, member))
				}
			}
			continue
		case Zeroing, Size:
			// a sizeof creates nothing
			continue
		case Heap, Stack, Global:
		case Private, PDU:
			// made and zeroed by a subsystem: a private area is reached
			// through an accessor (netdev_priv), so the creating function is
			// the creation path; a blk-mq payload's is the driver's
			// .init_request. A new member is named by the patched files
			// only, and pathWrites asks the compiler about every write of
			// it on that path.
			if !st.Zeroed {
				bad = append(bad, fmt.Sprintf("%s (made by %s)", st, st.Alloc))
				continue
			}
			if root := map[Kind]string{Private: st.Fn, PDU: st.Init}[st.Kind]; root != "" {
				roots = append(roots, root)
			}
			zeroed = append(zeroed, fmt.Sprintf("%s in %s (%s)", st, st.Fn, st.Alloc))
			continue
		case Array:
			if StaticStorage(p, st) {
				zeroed = append(zeroed, st.String()+" (static storage)")
				continue
			}
			bad = append(bad, st.String()+" (an array of the struct, on the stack, on the heap or as a member of another struct)")
			continue
		default:
			bad = append(bad, fmt.Sprintf("%s (%s)", st, st.Unfit))
			continue
		}
		f := p.Parse(st.File)
		// the site in the current text (other transforms may have edited
		// the file since the compiler found it)
		here := *st
		if here.Off = Locate(f, st); here.Off < 0 {
			bad = append(bad, fmt.Sprintf("%s in %s: kprewrite cannot find the creation statement again in the current text", st, st.Fn))
			continue
		}
		as := creationAssigns(f, &here, member)
		if st.Fn != "" {
			// the function that creates the object (by name: another
			// transform's edits may have moved offsets since the sites
			// were found); its callers that receive the object are not
			// followed into their callees
			roots = append(roots, st.Fn)
		}
		for _, a := range as {
			seen[fmt.Sprintf("%s:%d", st.File, f.Line(a.off))] = true
		}
		switch {
		case len(as) > 1:
			bad = append(bad, fmt.Sprintf("%s in %s: the creation path assigns %s %d times", st, st.Fn, member, len(as)))
		case len(as) == 1 && as[0].update:
			bad = append(bad, fmt.Sprintf("%s:%d in %s updates the member at creation (%s)", st.File, f.Line(as[0].off), as[0].fn, as[0].text))
		case len(as) == 1 && as[0].conditional && !(st.Zeroed && zeroConstant(as[0].toks)):
			bad = append(bad, fmt.Sprintf("%s:%d in %s assigns %s = %s under a condition at creation: objects that skip it hold something else", st.File, f.Line(as[0].off), as[0].fn, member, as[0].text))
		case len(as) == 1 && zeroConstant(as[0].toks):
			// "p->m = 0;" (false, NULL): zero whatever the allocation
			assignedZero = true
			zeroed = append(zeroed, fmt.Sprintf("%s in %s (assigns %s = %s at %s:%d)", st, st.Fn, member, ast.JoinTokens(as[0].toks), st.File, f.Line(as[0].off)))
		case len(as) == 1:
			e, why := portable(f, as[0], aliases(f, as[0]))
			where := fmt.Sprintf("%s:%d in %s", st.File, f.Line(as[0].off), as[0].fn)
			if why == "" {
				why = writtenLater(p, header, tag, e, st.File, as[0].fn)
			}
			if why != "" {
				bad = append(bad, fmt.Sprintf("%s assigns %s = %s at creation, and %s", where, member, as[0].text, why))
				continue
			}
			if expr != "" && e != expr {
				bad = append(bad, fmt.Sprintf("%s assigns %s, other creation sites %s", where, as[0].text, expr))
				continue
			}
			expr = e
			exprs = append(exprs, fmt.Sprintf("%s = %s at %s", member, as[0].text, where))
		case st.Zeroed:
			how := st.Alloc
			if how == "" {
				how = "zero-initialised"
			}
			zeroed = append(zeroed, fmt.Sprintf("%s in %s (%s)", st, st.Fn, how))
		default:
			bad = append(bad, fmt.Sprintf("%s in %s: the object is not zeroed and the creation path does not assign %s", st, st.Fn, member))
		}
	}
	if len(bad) == 0 && (expr != "" || len(zeroed) > 0) {
		if why := pathWrites(p, header, tag, member, roots, seen); why != "" {
			bad = append(bad, why)
		} else if l, unknown := laterWrites(p, header, tag, member, roots, seen); unknown != "" {
			bad = append(bad, unknown)
		} else {
			later = l
		}
	}
	switch {
	case len(bad) > 0:
		return Value{Evidence: strings.Join(bad, "; ")}
	case expr != "" && len(zeroed) > 0:
		return Value{Evidence: fmt.Sprintf("some creation sites assign %s (%s), others leave it zero (%s)", member, strings.Join(exprs, ", "), strings.Join(zeroed, ", "))}
	case expr != "":
		return Value{Expr: expr, Reads: fieldsRead(expr), Later: later, Evidence: strings.Join(exprs, ", ") + "; found by " + method}
	case len(zeroed) == 0:
		return Value{Evidence: "the compiler found no place that creates the struct"}
	}
	how := "every object starts zeroed and nothing on its creation path assigns " + member
	if assignedZero {
		how = "every object starts zeroed, or its creation path assigns " + member + " zero, and nothing assigns it anything else"
	}
	return Value{Zero: true, Later: later, Evidence: how + ": " + strings.Join(zeroed, ", ") + "; found by " + method}
}

// zeroConstant reports whether an assigned value is a zero constant: 0 (in
// any spelling gcc reads as zero, with integer suffixes), false or NULL,
// in parentheses or not.
func zeroConstant(toks []ast.Token) bool {
	for len(toks) >= 2 && toks[0].Text == "(" && toks[len(toks)-1].Text == ")" {
		toks = toks[1 : len(toks)-1]
	}
	if len(toks) != 1 {
		return false
	}
	switch t := strings.TrimRight(strings.ToLower(toks[0].Text), "ul"); t {
	case "0", "0x0", "00", "false", "null":
		return true
	}
	return false
}

// assign is "obj->member = text;" on a creation path.
type assign struct {
	obj, text, fn string
	off           int
	toks          []ast.Token // the value's tokens
	update        bool        // a compound assignment or ++/--
	// conditional: the statement is not on every path from the creation
	// (inside a block or an unbraced if/else/loop body, or after a label)
	conditional bool
}

var updateRE = regexp.MustCompile(`^([-+*/%&|^]|<<|>>)=$|^\+\+$|^--$`)

// creationAssigns returns the assignments of member to the object a site
// creates: in the creating function after the site, and, when that
// function returns the object, in each caller of the same file after the
// call.
func creationAssigns(f *ast.File, st *Site, member string) []assign {
	fn := f.FuncAt(st.Off)
	if fn == nil {
		return nil
	}
	obj, arrow := st.Name, false
	if st.Kind == Heap {
		obj, arrow = heapVar(f, st), true
	}
	if obj == "" {
		return nil
	}
	out := assignsAfter(f, fn, st.Off, obj, arrow, member)
	if st.Kind != Heap || !returns(f, fn, obj) {
		return out
	}
	for _, caller := range f.Funcs {
		toks := f.CodeTokens(caller.Body)
		for i := 2; i+1 < len(toks); i++ {
			if toks[i].Text == fn.Name && toks[i+1].Text == "(" && toks[i-1].Text == "=" && toks[i-2].Kind == ast.Ident {
				out = append(out, assignsAfter(f, caller, toks[i].Off, toks[i-2].Text, true, member)...)
			}
		}
	}
	return out
}

// pathWrites says where the creation path assigns member other than by
// the assignments creationAssigns read (seen, "file:line"): a function
// that the creating functions (roots) call, directly or through other
// functions of the files the patch changes, assigns it
// (smu7_hwmgr_backend_init() calling smu7_set_sclk_cap(), which sets the
// cap through its own pointer), or a creating function assigns it
// through another name. The compiler finds the writes; the calls are read
// from the code, by name, so a static function of the same name in
// another file counts too. Empty when there is none. Not followed: the
// callees of a caller that receives the object from its creating function
// (bond_enslave() after bond_alloc_slave()); only that caller's own
// assignments are read.
func pathWrites(p *rewrite.Pass, header, tag, member string, roots []string, seen map[string]bool) string {
	calls := map[string][]string{}
	defined := map[string][]string{} // function -> the patched files that define it
	for _, file := range p.CurrentSources() {
		f := p.Parse(file)
		for _, fn := range f.Funcs {
			defined[fn.Name] = append(defined[fn.Name], file)
			toks := f.CodeTokens(fn.Body)
			for i := 0; i+1 < len(toks); i++ {
				if toks[i].Kind == ast.Ident && toks[i+1].Text == "(" {
					calls[fn.Name] = append(calls[fn.Name], toks[i].Text)
				}
			}
		}
	}
	via := map[string]string{} // reached function -> the root it is reached from
	queue := []string{}
	for _, r := range roots {
		if _, ok := via[r]; !ok {
			via[r] = r
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		fn := queue[0]
		queue = queue[1:]
		for _, c := range calls[fn] {
			if _, ok := via[c]; !ok {
				via[c] = via[fn]
				queue = append(queue, c)
			}
		}
	}
	// only a patched file that defines a reached function and names the
	// member can hold such a write (the member is new: no other file names
	// it); the compiler is asked about those
	names := map[string]bool{member: true}
	inHeaders := false // a header of the patch names it (an inline may write it)
	for f := range p.CurrentFiles() {
		if strings.HasSuffix(f, ".h") && f != header && namesAny(p.File(f), names) {
			inHeaders = true
		}
	}
	if h := p.Parse(header); !inHeaders {
		// the header's own inlines: any name outside the struct definition
		st := h.Struct(tag)
		for _, t := range h.Tokens {
			if t.Kind == ast.Ident && t.Text == member && (st == nil || t.Off < st.Span.Off || t.Off >= st.Span.End) {
				inHeaders = true
			}
		}
	}
	var srcs []string
	for fn := range via {
		for _, file := range defined[fn] {
			if !slices.Contains(srcs, file) && (inHeaders || namesAny(p.File(file), names)) {
				srcs = append(srcs, file)
			}
		}
	}
	if len(srcs) == 0 {
		return ""
	}
	slices.Sort(srcs)
	ws, why := fieldWrites(p, header, tag, []string{member}, srcs)
	if why != "" {
		return "kprewrite cannot check what the creation path assigns to " + member + ": " + why
	}
	for _, w := range ws {
		root, ok := via[w.Fn]
		if !ok || seen[fmt.Sprintf("%s:%d", w.File, w.Line)] {
			continue
		}
		if root == w.Fn {
			return fmt.Sprintf("%s:%d in %s assigns %s on the creation path, not through the object kprewrite follows", w.File, w.Line, w.Fn, member)
		}
		return fmt.Sprintf("%s:%d in %s assigns %s, and %s calls it (directly or through other functions) on the creation path", w.File, w.Line, w.Fn, member, root)
	}
	return ""
}

// laterWrites says where upstream writes member after creation (outside
// the creation path pathWrites follows from roots), or "" (Value.Later);
// unknown says why that cannot be known. What creation gives the member
// may then not be what an object that exists before the livepatch should
// read: it may have passed such a write under the running kernel's code,
// which did not make it (usb-serial's open sets tx_chunk_size, which the
// write path then reads where the running kernel read bulk_out_size: a
// port opened before the load would read 0). The writes are the
// compiler's, in the patched files that name the member (it is new: no
// other file does); a use that takes its address (atomic_inc(&s->m))
// counts as one; a write of 0 does not.
func laterWrites(p *rewrite.Pass, header, tag, member string, roots []string, seen map[string]bool) (later, unknown string) {
	names := map[string]bool{member: true}
	var srcs []string
	for _, f := range p.CurrentSources() {
		if namesAny(p.File(f), names) {
			srcs = append(srcs, f)
		}
	}
	if len(srcs) == 0 {
		return "", ""
	}
	slices.Sort(srcs)
	ws, why := memberWrites(p, header, tag, []string{member}, srcs, true)
	if why != "" {
		// another transform took the member out of the header already:
		// every write of the name, whatever its struct (the member is
		// new, so more than its own at worst)
		ws = textWrites(p, member, srcs)
	}
	var writes []string
	for _, w := range ws {
		if w.Zero || seen[fmt.Sprintf("%s:%d", w.File, w.Line)] || slices.Contains(roots, w.Fn) {
			continue
		}
		how := "assigns it"
		if w.Addr {
			how = "passes its address on"
		}
		writes = append(writes, fmt.Sprintf("%s:%d in %s %s", w.File, w.Line, w.Fn, how))
	}
	if len(writes) == 0 {
		return "", ""
	}
	return fmt.Sprintf("upstream also writes %s after creation (%s): an object that exists before the livepatch may have passed there under the running kernel's code, which did not write it", member, strings.Join(writes, ", ")), ""
}

// textWrites finds the writes of any member named member in srcs by their
// tokens: "->member =" (or an update), and "&...->member", "++...->member".
func textWrites(p *rewrite.Pass, member string, srcs []string) []write {
	var out []write
	for _, file := range srcs {
		f := p.Parse(file)
		toks := CodeTokens(f)
		for i := 1; i+1 < len(toks); i++ {
			if toks[i].Text != member || toks[i-1].Text != "->" && toks[i-1].Text != "." {
				continue
			}
			w, ok := writeAt(f, toks[i-1:], toks[:i-1], true)
			if !ok {
				continue
			}
			w.File, w.Line, w.Member = file, f.Line(toks[i].Off), member
			out = append(out, w)
		}
	}
	return out
}

// writeAt reads the member access at toks ("->", the member, what follows;
// before are the tokens before it): whether it writes the member, and how.
// With addressed, taking its address or a prefix ++/-- is a write too.
func writeAt(f *ast.File, toks, before []ast.Token, addressed bool) (write, bool) {
	var w write
	if len(toks) < 3 {
		return w, false
	}
	switch next := toks[2].Text; {
	case next == "=":
		end := 3
		for end < len(toks) && toks[end].Text != ";" && toks[end].Text != "," && toks[end].Text != ")" {
			end++
		}
		w.Zero = zeroConstant(toks[3:end])
	case updateRE.MatchString(next):
	case addressed && addressTaken(before):
		w.Addr = true
	default:
		return w, false
	}
	if fn := f.FuncAt(toks[1].Off); fn != nil {
		w.Fn = fn.Name
	}
	return w, true
}

// addressTaken reports whether the object expression whose tokens end
// before is the operand of & or of a prefix ++/-- (the member access
// that follows completes it): "&s->m", "&(s)->m", "++s->m", "&s->a.m".
func addressTaken(before []ast.Token) bool {
	depth := 0
	// back over the object expression: identifiers, member accesses,
	// subscripts and parentheses
	for i := len(before) - 1; i >= 0; i-- {
		t := before[i].Text
		switch {
		case t == ")" || t == "]":
			depth++
		case t == "(" || t == "[":
			if depth == 0 {
				return t == "(" && i > 0 && (before[i-1].Text == "&" || before[i-1].Text == "++" || before[i-1].Text == "--") && !identBefore(before, i)
			}
			depth--
		case depth > 0:
		case before[i].Kind == ast.Ident || t == "->" || t == ".":
		default:
			return t == "&" && !operandBefore(before, i) || t == "++" || t == "--"
		}
	}
	return false
}

// identBefore reports whether the "(" at i opens a call's arguments.
func identBefore(toks []ast.Token, i int) bool {
	return i > 0 && toks[i-1].Kind == ast.Ident
}

// operandBefore reports whether the "&" at i is a binary and: an operand
// ends right before it.
func operandBefore(toks []ast.Token, i int) bool {
	if i == 0 {
		return false
	}
	t := toks[i-1]
	return t.Kind == ast.Ident || t.Kind == ast.Number || t.Text == ")" || t.Text == "]"
}

// returns reports whether fn returns the variable obj.
func returns(f *ast.File, fn *ast.Func, obj string) bool {
	toks := f.CodeTokens(fn.Body)
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].Text == "return" && toks[i+1].Text == obj && toks[i+2].Text == ";" {
			return true
		}
	}
	return false
}

// assignsAfter returns the statements "obj->member = ...;" (or
// "obj.member") of fn after offset from.
func assignsAfter(f *ast.File, fn *ast.Func, from int, obj string, arrow bool, member string) []assign {
	op := "."
	if arrow {
		op = "->"
	}
	toks := f.CodeTokens(fn.Body)
	var out []assign
	for i := 0; i+4 < len(toks); i++ {
		t := toks[i]
		if t.Off < from || t.Text != obj || toks[i+1].Text != op || toks[i+2].Text != member {
			continue
		}
		if i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".") {
			continue
		}
		if o := toks[i+3].Text; o != "=" && (updateRE.MatchString(o) || i > 0 && (toks[i-1].Text == "++" || toks[i-1].Text == "--")) {
			// an update at creation: the value depends on what was there
			out = append(out, assign{obj: obj, text: ast.JoinTokens(toks[max(i-1, 0) : i+4]), fn: fn.Name, off: t.Off, update: true})
			continue
		}
		if toks[i+3].Text != "=" {
			continue
		}
		end := i + 4
		depth := 0
		for ; end < len(toks); end++ {
			switch toks[end].Text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
			if depth <= 0 && toks[end].Text == ";" {
				break
			}
		}
		if end >= len(toks) {
			continue
		}
		val := toks[i+4 : end]
		out = append(out, assign{obj: obj, text: ast.JoinTokens(val), fn: fn.Name, off: t.Off, toks: val, conditional: conditionalAt(toks, i, from, obj)})
	}
	return out
}

// conditionalAt reports whether the statement starting at toks[i] (of a
// function body, braces included) may be skipped on a path from offset
// from: it is nested in a block, is the body of an unbraced if, else or
// loop, or a label stands between from and it.
func conditionalAt(toks []ast.Token, i, from int, obj string) bool {
	// the blocks opened after the creation and still open at i: each must
	// be the one "if (obj)" (or likely(obj), obj != NULL) enters, which
	// every path on which the object exists takes
	var open []bool // per block opened after from: entered only when obj exists
	for k := 0; k < i; k++ {
		if toks[k].Off < from {
			continue
		}
		switch toks[k].Text {
		case "{":
			open = append(open, testsObject(toks, k, obj))
		case "}":
			if len(open) == 0 {
				return true // the creation's own block ended
			}
			open = open[:len(open)-1]
		case ":":
			if k > 1 && toks[k-1].Kind == ast.Ident && (toks[k-2].Text == ";" || toks[k-2].Text == "{" || toks[k-2].Text == "}") {
				return true // a label (or a case) after the creation
			}
		}
	}
	for _, ok := range open {
		if !ok {
			return true
		}
	}
	return i > 0 && (toks[i-1].Text == ")" || toks[i-1].Text == "else")
}

// testsObject reports whether the '{' at toks[k] opens the body of "if
// (obj)", "if (likely(obj))" or "if (obj != NULL)": the allocation's
// success.
func testsObject(toks []ast.Token, k int, obj string) bool {
	var cond []string
	depth := 0
	j := k - 1
	for ; j >= 0; j-- {
		t := toks[j].Text
		if t == ")" {
			depth++
		} else if t == "(" {
			depth--
			if depth == 0 {
				break
			}
		}
		if depth > 0 && !(t == ")" && depth == 1 && j == k-1) {
			cond = append([]string{t}, cond...)
		}
	}
	if j < 1 || toks[j-1].Text != "if" {
		return false
	}
	c := strings.Join(cond, " ")
	return c == obj || c == "likely ( "+obj+" )" || c == obj+" != NULL"
}

// aliases returns the variables the creation path stored in a field of
// the object before the assignment a ("slave->dev = slave_dev;"), each
// mapped to that field ("slave_dev" -> "dev"): at a's point the variable
// and the field hold the same value, so a value computed from the
// variable can be computed later from the object. A variable assigned
// again, incremented or whose address is taken between the two is no
// alias.
func aliases(f *ast.File, a assign) map[string]string {
	fn := f.FuncAt(a.off)
	if fn == nil {
		return nil
	}
	toks := f.CodeTokens(fn.Body)
	out := map[string]string{}
	for i := 0; i+5 < len(toks) && toks[i].Off < a.off; i++ {
		if toks[i].Text != a.obj || (toks[i+1].Text != "->" && toks[i+1].Text != ".") || toks[i+3].Text != "=" ||
			toks[i+4].Kind != ast.Ident || toks[i+5].Text != ";" || i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".") {
			continue
		}
		v, field := toks[i+4].Text, toks[i+2].Text
		if _, seen := out[v]; seen {
			out[v] = "" // stored twice: keep it simple, no alias
			continue
		}
		out[v] = field
		for j := i + 6; j < len(toks) && toks[j].Off < a.off; j++ {
			if toks[j].Text != v || toks[j-1].Text == "->" || toks[j-1].Text == "." {
				continue
			}
			next := ""
			if j+1 < len(toks) {
				next = toks[j+1].Text
			}
			if next == "=" || updateRE.MatchString(next) || toks[j-1].Text == "&" || toks[j-1].Text == "++" || toks[j-1].Text == "--" {
				out[v] = ""
			}
		}
	}
	for v, field := range out {
		if field == "" {
			delete(out, v)
		}
	}
	return out
}

// writtenLater says where a field of struct tag that the portable
// expression e reads ("s->dev") is assigned outside the creating function
// fn of file, in the files the patch changes: the expression would then
// give an existing object the field's current value, not its creation
// value. Empty when there is none.
func writtenLater(p *rewrite.Pass, header, tag, e, file, fn string) string {
	fields := fieldsRead(e)
	if len(fields) == 0 {
		return ""
	}
	ws, why := fieldWrites(p, header, tag, fields, p.CurrentSources())
	if why != "" {
		return "kprewrite cannot check that the fields it reads keep their creation values: " + why
	}
	for _, w := range ws {
		if w.File == file && w.Fn == fn {
			continue
		}
		where := "outside a function"
		if w.Fn != "" {
			where = "in " + w.Fn
		}
		return fmt.Sprintf("%s:%d %s assigns ->%s after creation, so %s would give an existing object the field's current value, not its creation value",
			w.File, w.Line, where, w.Member, e)
	}
	return ""
}

// write is an assignment (or an update: |=, ++) of a member, found by the
// compiler.
type write struct {
	File   string
	Line   int
	Fn     string // the function it is in; empty outside one
	Member string
	Zero   bool // "= 0" (false, NULL): what a zeroed object holds anyway
	Addr   bool // the member's address is taken (&s->m): a callee may write it
}

// fieldWrites returns the assignments and updates of the fields of struct
// tag (defined in header) in the files the patch changes, type-exactly:
// the fields are renamed in the header and every "has no member named"
// site of struct tag that is followed by an assignment operator is one.
// The second result says why they cannot be known.
func fieldWrites(p *rewrite.Pass, header, tag string, fields []string, srcs []string) ([]write, string) {
	return memberWrites(p, header, tag, fields, srcs, false)
}

// memberWrites is fieldWrites; with addressed, the uses that take the
// member's address (&s->m, passed to atomic_inc() or a setter) and the
// prefix updates (++s->m) are writes too.
func memberWrites(p *rewrite.Pass, header, tag string, fields []string, srcs []string, addressed bool) ([]write, string) {
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	files := p.CurrentFiles()
	h := p.Parse(header)
	st := h.Struct(tag)
	if st == nil {
		return nil, "kprewrite cannot find struct " + tag + " in " + header
	}
	var renames []edit.Edit
	var walk func(ms []*ast.Member)
	walk = func(ms []*ast.Member) {
		for _, m := range ms {
			if want[m.Name] && m.NameAt.End > m.NameAt.Off {
				renames = append(renames, edit.Insert(header, m.NameAt.End, "__kprewrite_read"))
			}
			if m.Nested != nil && m.Nested.Name == "" {
				walk(m.Nested.Members)
			}
		}
	}
	walk(st.Members)
	if len(renames) < len(want) {
		// a member kprewrite cannot rename (made by a macro, in a named
		// nested struct) would have no write found
		return nil, "kprewrite cannot find every one of " + strings.Join(fields, ", ") + " among the members of struct " + tag + " in " + header
	}
	files[header] = []byte(edit.MustApply(string(h.Src), renames))
	o, err := p.Oracle()
	if err != nil {
		return nil, "the compiler is not available: " + err.Error()
	}
	res, err := o.MemberUses(p.Context(), files, srcs)
	if err == nil {
		err = oracle.MissingInclude(res.Other)
	}
	if err != nil {
		return nil, "the compiler oracle failed: " + err.Error()
	}
	var out []write
	code := map[string][]ast.Token{} // file -> its code tokens
	for _, u := range res.Uses {
		if u.Struct != "struct "+tag || !want[u.Member] {
			continue
		}
		f := p.Parse(u.File)
		if u.Line < 1 || u.Line > f.Lines.Count() {
			continue
		}
		all, ok := code[u.File]
		if !ok {
			all = codeTokens(f)
			code[u.File] = all
		}
		i := accessAt(all, f.Lines.Start(u.Line)+u.Col-1)
		if i < 0 || i+1 >= len(all) || all[i+1].Text != u.Member {
			continue
		}
		w, ok := writeAt(f, all[i:], all[:i], addressed)
		if !ok {
			continue
		}
		w.File, w.Line, w.Member = u.File, u.Line, u.Member
		out = append(out, w)
	}
	return out, ""
}

// fieldsRead returns the object's fields an expression over "s" reads, in
// order, once each.
func fieldsRead(e string) []string {
	var out []string
	for _, m := range fieldReadRE.FindAllStringSubmatch(e, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// fieldReadRE finds the object's fields an expression over "s" reads.
var fieldReadRE = regexp.MustCompile(`(?:\bs->|\(\*s\)\.)(\w+)`)

// portable rewrites an assigned value over the object "s" (a pointer), or
// says why it cannot be computed later from the object alone: it may read
// only the object's own fields, constants and pure functions of them. A
// variable the creation path stored in a field (alias) reads as that field.
func portable(f *ast.File, a assign, alias map[string]string) (string, string) {
	var b strings.Builder
	toks := a.toks
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		prev := ""
		if i > 0 {
			prev = toks[i-1].Text
		}
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1].Text
		}
		text := t.Text
		switch {
		case t.Kind != ast.Ident:
		case prev == "->" || prev == ".":
			// a field name
		case t.Text == a.obj:
			if next != "->" && next != "." {
				return "", fmt.Sprintf("it uses the object %s itself, not one of its fields", a.obj)
			}
			text = "s"
			if next == "." {
				text = "(*s)"
			}
		case next == "(" && pureRE.MatchString(t.Text):
		case typeWordRE.MatchString(t.Text) || prev == "struct" || prev == "union" || prev == "enum":
		case isConstant(t.Text):
		case alias[t.Text] != "" && next != "(":
			text = "s->" + alias[t.Text]
		case next == "(":
			return "", fmt.Sprintf("it calls %s(), which kprewrite does not know to depend only on its arguments", t.Text)
		default:
			return "", fmt.Sprintf("it reads %s, which is not a field of the object or a constant", t.Text)
		}
		if b.Len() > 0 && needsSpace(toks[i-1], t) {
			b.WriteByte(' ')
		}
		b.WriteString(text)
	}
	return b.String(), ""
}

func isConstant(s string) bool {
	return strings.ToUpper(s) == s && strings.IndexFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0
}

// needsSpace reports whether two tokens were apart in the source.
func needsSpace(a, b ast.Token) bool { return b.Off > a.End }

// cacheSites finds the objects of "struct tag" allocated from a
// kmem_cache sized by the struct: the caches are the variables assigned
// kmem_cache_create(..., sizeof(struct tag), ..., ctor) in the files that
// the patch changes (a static cache, so only its file allocates from it),
// and the sites every kmem_cache_alloc of them. A cache
// with a constructor is reported in the second result.
func cacheSites(p *rewrite.Session, tag string) ([]*Site, string) {
	createRE := regexp.MustCompile(`(\w+)\s*=\s*kmem_cache_create(?:_usercopy)?\s*\(([^;]*)sizeof\s*\(\s*struct\s+` + regexp.QuoteMeta(tag) + `\s*\)([^;]*)\)\s*;`)
	var caches []string
	files := []string{}
	for _, f := range p.CurrentSources() {
		for _, m := range createRE.FindAllSubmatch(p.File(f), -1) {
			args := strings.Split(string(m[3]), ",")
			if ctor := strings.TrimSpace(args[len(args)-1]); ctor != "NULL" && ctor != "0" {
				return nil, "the cache's constructor " + ctor + " initialises the objects"
			}
			// a static cache: only its file allocates from it
			static := false
			for _, v := range p.Parse(f).Vars {
				if v.Name == string(m[1]) && v.Static {
					static = true
				}
			}
			if !static {
				return nil, "the cache " + string(m[1]) + " of " + f + " is not static: other files may allocate from it"
			}
			caches = append(caches, string(m[1]))
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	if len(caches) == 0 {
		return nil, "no kmem_cache sized by the struct in the patched files"
	}
	allocRE := regexp.MustCompile(`\b(kmem_cache_alloc|kmem_cache_zalloc|kmem_cache_alloc_node|kmem_cache_alloc_lru)\s*\(\s*(` + strings.Join(caches, "|") + `)\s*,`)
	var out []*Site
	for _, file := range files {
		src := p.File(file)
		f := p.Parse(file)
		for _, loc := range allocRE.FindAllSubmatchIndex(src, -1) {
			call := string(src[loc[2]:loc[3]])
			st := &Site{File: file, Line: f.Line(loc[0]), Kind: Heap, Alloc: call, Off: loc[0]}
			st.Stmt, st.inStmt = statementText(f, loc[0])
			if fn := f.FuncAt(loc[0]); fn != nil {
				st.Fn = fn.Name
			}
			st.Zeroed = call == "kmem_cache_zalloc" || strings.Contains(string(src[loc[0]:min(len(src), loc[1]+80)]), "__GFP_ZERO") || heapZeroed(f, st)
			out = append(out, st)
		}
	}
	return out, ""
}

// literalNames reports whether the statement around off holds a compound
// literal of struct tag that names member (". member =").
func literalNames(f *ast.File, off int, tag, member string) bool {
	toks := CodeTokens(f)
	start, end := StatementBounds(toks, TokenAt(toks, off))
	for i := start; i+4 < end && i+4 < len(toks); i++ {
		if toks[i].Text == "(" && (toks[i+1].Text == "struct" || toks[i+1].Text == "union") && toks[i+2].Text == tag && toks[i+3].Text == ")" && toks[i+4].Text == "{" &&
			Designates(toks, i+4, member) {
			return true
		}
	}
	return false
}

// Designates reports whether the initializer list whose '{' is toks[open]
// names member in one of its own designators (".member = x", ".member[i] =
// x"; not ".other.member", which is another struct's).
func Designates(toks []ast.Token, open int, member string) bool {
	depth := 0
	for k := open; k < len(toks); k++ {
		switch toks[k].Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ".":
			if depth == 1 && k+1 < len(toks) && toks[k+1].Text == member && (toks[k-1].Text == "{" || toks[k-1].Text == ",") {
				return true
			}
		}
		if depth == 0 {
			return false
		}
	}
	return false
}
