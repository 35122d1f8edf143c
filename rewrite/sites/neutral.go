package sites

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/objdiff"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
)

// neutralRun numbers the variants Neutral compiles, so two members' checks
// in one session never share a work directory.
var neutralRun atomic.Int64

// Neutral asks the compiler what objects created before a livepatch can
// read in a new member so that the patched code treats them as the running
// kernel's code does: the value with which every function whose code
// depends on the member's reads compiles to the running kernel's function.
//
// Each file holding reads (the member's uses no write precedes) is
// compiled, with the headers as the rewrite leaves them, three ways and
// more: as the running kernel has it; with every read replaced by a value
// the compiler cannot know (an empty asm that outputs it), which keeps
// every function that depends on the read; and with every read replaced
// by a candidate constant (0, 1 and the type's maximum; NULL for a
// pointer; the zeroed struct, (struct x){}, for a struct held by value).
// The functions that differ between the unknown value and a candidate
// are the ones the read reaches, after inlining and constant folding; the candidate is neutral when each of them is the running
// kernel's function, byte for byte with its relocations, or is gone in
// both. A read that gcc drops as dead code (a static function nothing
// calls) reaches no function, and the first candidate, zero, is taken.
//
// The first neutral candidate wins, zero first: a zeroed new object then
// reads what upstream's does. Not Known (Evidence says why) when no
// candidate is neutral, when a read sits in a macro body or in a file
// the running kernel does not have, or when the type has no candidates (an
// array). The error is a failure of the environment (a compile that could
// not run), never evidence.
func Neutral(p *rewrite.Pass, header, typ string, reads []Use) (Value, error) {
	return NeutralAmong(p, header, typ, reads, candidates(typ))
}

// Candidates are the constants Neutral tries for a type, zero first.
func Candidates(typ string) []string { return candidates(typ) }

// NeutralAmong is Neutral with the candidates given, first tried first (a
// bitfield's: the values its width holds).
func NeutralAmong(p *rewrite.Pass, header, typ string, reads []Use, cands []string) (Value, error) {
	if len(cands) == 0 {
		return Value{Evidence: "the compiler cannot try constants of type " + typ}, nil
	}
	byFile := map[string][]Use{}
	for _, u := range reads {
		switch {
		case u.Access.InMacro:
			return Value{Evidence: fmt.Sprintf("%s:%d reads the member in a macro body", u.File, u.Access.Line)}, nil
		case u.Access.Kind != cexpr.Read:
			// "c->left -= len", "c->n++", "&c->m": a constant cannot stand
			// for the member there
			return Value{Evidence: fmt.Sprintf("%s:%d updates the member or takes its address: a constant cannot stand for it there", u.File, u.Access.Line)}, nil
		}
		byFile[u.File] = append(byFile[u.File], u)
	}
	for f, us := range byFile {
		if why := nested(us); why != "" {
			return Value{Evidence: f + ":" + why}, nil
		}
	}
	files := slices.Sorted(maps.Keys(byFile))
	for _, f := range files {
		if p.Original(f) == nil {
			return Value{Evidence: f + " is new: the running kernel has no code to compare with"}, nil
		}
	}
	ok, err := p.Compilable(files)
	if err != nil {
		return Value{}, p.Failed(err)
	}
	for _, f := range files {
		if !slices.Contains(ok, f) {
			return Value{Evidence: f + " does not compile in the base tree: the compiler's answers about it are no evidence"}, nil
		}
	}
	dir, err := p.WorkDir()
	if err != nil {
		return Value{}, p.Failed(err)
	}
	comp := &build.Compiler{Env: p.Env, Dir: dir}
	// Every variant sees the headers of the running kernel but the ones
	// that define a struct the fix adds a member to (this one, and the
	// others the patched code names: every variant has one layout): an
	// inline or macro upstream changes in another header must not pass
	// for the running kernel's.
	layouts := map[string]bool{header: true}
	for _, e := range p.Entries {
		if e.Change != nil && e.Change.Kind == change.MemberAdded {
			layouts[e.File] = true
		}
	}
	headers := p.CurrentFiles()
	for f := range headers {
		if strings.HasSuffix(f, ".h") && !layouts[f] {
			if base := p.Original(f); base != nil {
				headers[f] = base
			}
		}
	}
	ctx := progress.Named(p.Context(), "neutral")
	run := neutralRun.Add(1)
	var opt build.Options
	compile := func(name, what string, text func(f string) []byte) ([]map[string]objdiff.Func, string, error) {
		files0 := maps.Clone(headers)
		for _, f := range files {
			files0[f] = text(f)
		}
		v := &build.Variant{Name: fmt.Sprintf("nv%03d%s", run%1000, name), Files: files0}
		rs, err := comp.Compile(ctx, v, files, opt)
		if err != nil {
			return nil, "", p.Failed(err)
		}
		var out []map[string]objdiff.Func
		for i, r := range rs {
			if r.Failed {
				return nil, fmt.Sprintf("%s does not compile %s: %s", files[i], what, r.FirstError()), nil
			}
			code, err := objdiff.Code(r.Object)
			if err != nil {
				return nil, "", p.Failed(kperr.Toolchainf(err, "reading the object of %s", files[i]))
			}
			out = append(out, code)
		}
		return out, "", nil
	}
	// The first round compiles the files as the kernel does; when no
	// candidate is neutral there, a reading function may be inlined into
	// a caller the fix changes for other reasons, so the second round
	// keeps the functions that hold reads out of line (in the running
	// kernel's text too) and asks about them alone.
	var tried []string
	for round, apart := range []bool{false, true} {
		held := map[string][]string{} // file -> the functions holding its reads
		var names []string
		if apart {
			for _, f := range files {
				held[f] = readingFuncs(p.Parse(f), byFile[f])
				names = append(names, held[f]...)
			}
			if len(names) == 0 {
				break
			}
		}
		mode, how := fmt.Sprintf("%d", round), ""
		opt.Extra = []string{"-ffunction-sections", "-fdata-sections"}
		if apart {
			// no clone specialised on what its callers pass either
			opt.Extra = append(opt.Extra, "-fno-ipa-cp", "-fno-ipa-sra", "-fno-ipa-icf")
			how = " (the functions that read it kept out of line: " + strings.Join(names, ", ") + ")"
		}
		// patched is a file's current text with its reads replaced by
		// expr, its lines numbered as the running kernel's ("#line" after
		// each changed block, as klp-build's fix-patch-lines does: a
		// function below lines the fix adds keeps the __LINE__ its
		// WARN_ON or might_sleep() had, and can match)
		patched := func(f, expr string) []byte {
			return patch.PreserveLines(p.Original(f), outOfLine(substitute(p.File(f), byFile[f], expr), held[f]))
		}
		orig, why, err := compile(mode+"o", "as the running kernel has it (with the new member in its struct)", func(f string) []byte {
			return outOfLine(p.Original(f), held[f])
		})
		if err != nil || why != "" {
			return Value{Evidence: why}, err
		}
		constraint := "=r"
		if Aggregate(typ) {
			constraint = "=m" // a struct is no register's
		}
		unknown, why, err := compile(mode+"x", "with the reads replaced by an unknown value", func(f string) []byte {
			return patched(f, fmt.Sprintf("({ %s __kp_v; asm volatile(\"\" : \"%s\" (__kp_v)); __kp_v; })", declType(typ), constraint))
		})
		if err != nil || why != "" {
			return Value{Evidence: why}, err
		}
		for i, c := range cands {
			got, why, err := compile(fmt.Sprintf("%sc%d", mode, i), "with the reads replaced by "+c, func(f string) []byte {
				if Aggregate(typ) {
					return patched(f, "("+c+")") // a compound literal: no cast to a struct
				}
				return patched(f, "(("+typ+")("+c+"))")
			})
			if err != nil {
				return Value{}, err
			}
			if why != "" {
				tried = append(tried, c+": "+why)
				continue
			}
			var reached, differ []string
			for k := range files {
				for _, ch := range objdiff.Compare(unknown[k], got[k]) {
					reached = append(reached, ch.Name)
					o, inO := orig[k][ch.Name]
					g, inG := got[k][ch.Name]
					if inO != inG || inO && o.Sum != g.Sum {
						differ = append(differ, ch.Name)
					}
				}
			}
			sort.Strings(reached)
			if len(differ) > 0 {
				sort.Strings(differ)
				tried = append(tried, fmt.Sprintf("%s: %s then differ from the running kernel's%s", c, strings.Join(differ, ", "), how))
				continue
			}
			v := Value{Expr: c, Neutral: true}
			if zeroRE.MatchString(c) {
				v = Value{Zero: true, Neutral: true}
			}
			v.Evidence = neutralEvidence(c, reached, files) + how
			return v, nil
		}
	}
	return Value{Evidence: "no value makes the patched code treat them as the running kernel does (" + strings.Join(tried, "; ") + ")"}, nil
}

// readingFuncs names the functions of f that hold the reads, but inline
// ones (gcc may not keep them out of line) and ones a macro defines
// (SYSCALL_DEFINE3: no place for an attribute).
func readingFuncs(f *ast.File, reads []Use) []string {
	var out []string
	for _, u := range reads {
		fn := f.FuncAt(u.Access.Full.Off)
		if fn == nil || fn.IsInline() || fn.Macro != "" || slices.Contains(out, fn.Name) {
			continue
		}
		out = append(out, fn.Name)
	}
	sort.Strings(out)
	return out
}

// outOfLine marks the definitions of the named functions noinline, on
// their own first line (no later line moves), so that each is compiled
// once, on its own, and compares with the running kernel's function of
// the same name whatever its callers became.
func outOfLine(src []byte, names []string) []byte {
	if len(names) == 0 {
		return src
	}
	f := ast.Parse("", src)
	var at []int
	for _, fn := range f.Funcs {
		if slices.Contains(names, fn.Name) {
			at = append(at, fn.Span.Off)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(at)))
	out := slices.Clone(src)
	for _, off := range at {
		out = slices.Concat(out[:off], []byte("__attribute__((__noinline__)) "), out[off:])
	}
	return out
}

// neutralEvidence says what Neutral proved.
func neutralEvidence(c string, reached, files []string) string {
	if len(reached) == 0 {
		return fmt.Sprintf("no function the config builds keeps a read of it (gcc drops the reads in %s as dead code), so what they read changes nothing", strings.Join(files, ", "))
	}
	return fmt.Sprintf("with %s, every function whose code depends on the member's reads (%s) compiles to the running kernel's function, byte for byte (the compiler's proof): at those reads they behave as the running kernel treats them", c, strings.Join(reached, ", "))
}

// substitute replaces each read (its Full span) in src by expr, keeping
// the newlines a read spanned so that every later line keeps its number
// (__LINE__ in a WARN_ON is code).
func substitute(src []byte, reads []Use, expr string) []byte {
	rs := slices.Clone(reads)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Access.Full.Off > rs[j].Access.Full.Off })
	out := slices.Clone(src)
	for _, u := range rs {
		sp := u.Access.Full
		nl := strings.Repeat("\n", strings.Count(string(src[sp.Off:sp.End]), "\n"))
		out = slices.Concat(out[:sp.Off], []byte(expr+nl), out[sp.End:])
	}
	return out
}

// nested says where one read's text holds another's ("o->m[o->m]"):
// substituting both would garble the text.
func nested(us []Use) string {
	for i, a := range us {
		for j, b := range us {
			if i != j && a.Access.Full.Off <= b.Access.Full.Off && b.Access.Full.End <= a.Access.Full.End {
				return fmt.Sprintf("%d: one read of the member holds another", a.Access.Line)
			}
		}
	}
	return ""
}

// declType turns a type into the start of a declaration: "u32 " or
// "struct foo *".
func declType(typ string) string {
	// an asm output cannot be read-only
	typ = strings.Join(slices.DeleteFunc(strings.Fields(typ), func(w string) bool { return w == "const" || w == "volatile" }), " ")
	if strings.HasSuffix(typ, "*") {
		return typ
	}
	return typ + " "
}

// unsignedMax are the kernel's limits of its unsigned types.
var unsignedMax = map[string]string{
	"u8": "U8_MAX", "__u8": "U8_MAX", "uint8_t": "U8_MAX", "unsigned char": "U8_MAX",
	"u16": "U16_MAX", "__u16": "U16_MAX", "uint16_t": "U16_MAX", "unsigned short": "U16_MAX",
	"u32": "U32_MAX", "__u32": "U32_MAX", "uint32_t": "U32_MAX", "unsigned int": "U32_MAX", "unsigned": "U32_MAX",
	"u64": "U64_MAX", "__u64": "U64_MAX", "uint64_t": "U64_MAX", "unsigned long long": "U64_MAX",
	"unsigned long": "ULONG_MAX", "size_t": "SIZE_MAX",
}

// candidates are the constants Neutral tries for a type, zero first.
func candidates(typ string) []string {
	t := ast.TypeSpelling(typ)
	switch {
	case strings.HasSuffix(t, "*"):
		return []string{"NULL"}
	case t == "bool" || t == "_Bool":
		return []string{"false", "true"}
	case unsignedMax[t] != "":
		return []string{"0", "1", unsignedMax[t]}
	case ast.SignedType(t):
		return []string{"0", "1", "-1"}
	case Aggregate(t):
		// a struct held by value: zero, the one value every struct has
		return []string{"(" + t + "){}"}
	case strings.HasPrefix(t, "struct ") || strings.HasPrefix(t, "union ") || strings.Contains(t, "["):
		return nil
	}
	// an enum or a typedef of a scalar: zero is the one value every
	// scalar type has
	return []string{"0"}
}

// Aggregate reports whether typ is a struct or union by value ("struct
// vmcb_seg", "const struct x"; not a pointer, an array or a type with
// attributes).
func Aggregate(typ string) bool {
	return aggregateRE.MatchString(strings.Join(strings.Fields(typ), " "))
}

var aggregateRE = regexp.MustCompile(`^(?:(?:const|volatile) )*(?:struct|union) \w+$`)

// outputArgs are kernel functions that store into the object an argument
// points at without reading what it held, by the argument's position (0
// for the first): an address of a member passed there is a write of the
// member, not a read (drm_dp_dpcd_read() fills its buffer from the sink).
var outputArgs = map[string]int{
	"drm_dp_dpcd_read": 2, "drm_dp_dpcd_readb": 2, "drm_dp_dpcd_read_data": 2,
	"memcpy": 0, "memset": 0, "copy_from_user": 0, "get_random_bytes": 0,
	"kstrtoint": 2, "kstrtouint": 2, "kstrtou8": 2, "kstrtou16": 2, "kstrtou32": 2, "kstrtoul": 2, "kstrtoull": 2, "kstrtobool": 1,
}

// OutputArgument reports whether the address the access takes ("&obj->m")
// is passed where a kernel function only stores (outputArgs), and names
// the function.
func OutputArgument(f *ast.File, a *cexpr.Access) (string, bool) {
	if a.Kind != cexpr.AddrOf || a.Chained != "" {
		return "", false
	}
	toks := CodeTokens(f)
	i := TokenAt(toks, a.Full.Off)
	if i > 0 && toks[i-1].Text == "&" {
		i--
	}
	k, _, ok := EnclosingParen(toks, i, 60)
	if !ok || k == 0 || toks[k-1].Kind != ast.Ident || k >= 2 && (toks[k-2].Text == "->" || toks[k-2].Text == ".") {
		// "ops->memcpy(...)" is whatever the pointer holds
		return "", false
	}
	pos, known := outputArgs[toks[k-1].Text]
	if !known {
		return "", false
	}
	args, _ := CallArgs(toks, k)
	if pos >= len(args) || toks[args[pos][0]].Off != toks[i].Off || args[pos][1] != TokenAt(toks, a.Full.End-1)+1 {
		return "", false
	}
	return toks[k-1].Text, true
}
