package verify

import (
	"context"
	"debug/elf"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast/unit"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/objdiff"
)

// staticVariants are the builds the statics check compares.
type staticVariants struct {
	base, rewritten, original *build.Variant // original nil without --original
	baseRes, newRes, origRes  []*build.Result
}

// staticsCheck proves that no function gains or loses static local data
// that the upstream patch does not also gain or lose, and that no static
// local the builders pair with the running kernel's copy (same function,
// same name) changes its size or initial contents: the patched code would
// get the old copy (changedStatics). A static local that
// is new in a livepatch starts at its initializer instead of the state the
// running kernel has (pr_warn_once() fires again, a counter restarts); a
// removed one leaves the builder unable to correlate the function's data.
// Macros hide most of them (pr_*_once, WARN_ONCE, DO_ONCE, ratelimit
// states), so the object files' symbol tables say whether anything changed
// (gcc names a static local NAME.N), and only then are the units
// preprocessed by gcc and parsed with cc to name the function and line.
// Read-only statics (const tables) carry no state and are ignored.
//
// An object gcc wrote that cannot be read, or a compiler that fails, stops
// the run (error): that is no evidence either way.
func staticsCheck(ctx context.Context, comp *build.Compiler, sources []string, v staticVariants) (Check, error) {
	c := Check{Name: "statics", OK: true}
	var counts [3]map[string]map[string]int
	for i, rs := range [][]*build.Result{v.baseRes, v.newRes, v.origRes} {
		m, err := readObjects(rs, "symbols", objdiff.LocalStatics)
		if err != nil {
			return c, err
		}
		counts[i] = m
	}
	b, n, o := counts[0], counts[1], counts[2]
	// Statics kept by function and name must keep their size and contents.
	var objs [2]map[string][]staticObject
	for i, rs := range [][]*build.Result{v.baseRes, v.newRes} {
		m, err := readObjects(rs, "static data", localStaticObjects)
		if err != nil {
			return c, err
		}
		objs[i] = m
	}
	changed := changedStatics(sources, objs[0], objs[1])
	if len(changed) > 0 {
		c.OK = false
		c.Details = append(c.Details, changed...)
	}
	changedSummary := plural(len(changed), "static local") + " kept by name change size or contents"
	if len(changed) == 1 {
		changedSummary = "1 static local kept by name changes its size or contents"
	}
	var differ []string
	for _, src := range sources {
		bs, okB := b[src]
		ns, okN := n[src]
		if !okB || !okN {
			continue
		}
		us, okO := o[src]
		if !maps.Equal(bs, ns) || (okO && !maps.Equal(bs, us)) {
			differ = append(differ, src)
		}
	}
	if len(differ) == 0 {
		c.Summary = fmt.Sprintf("no function gains or loses static local data (symbol tables of %s)", plural(len(b), "object"))
		if len(changed) > 0 {
			c.Summary = changedSummary
		}
		return c, nil
	}

	// Name them: gcc -E of each variant, parsed with cc.
	pp := build.Options{Preprocess: true, MaxErrors: 5}
	parse := func(vr *build.Variant) (map[string]map[string][]unit.Static, error) {
		if vr == nil {
			return nil, nil
		}
		rs, err := comp.Compile(progress.Named(ctx, "statics"), vr, differ, pp)
		if err != nil {
			return nil, err
		}
		out := map[string]map[string][]unit.Static{}
		for _, r := range rs {
			if r.Failed {
				return nil, fmt.Errorf("gcc -E %s: %s", r.Source, strings.Join(build.Failures([]*build.Result{r}), "; "))
			}
			fs, err := mutableStatics(ctx, r.Source, r.Preprocessed)
			if err != nil {
				return nil, err
			}
			out[r.Source] = fs
		}
		return out, nil
	}
	pb, err := parse(v.base)
	var pn, po map[string]map[string][]unit.Static
	if err == nil {
		pn, err = parse(v.rewritten)
	}
	if err == nil {
		po, err = parse(v.original)
	}
	if err != nil && kperr.IsEnvironment(err) {
		// the compiler, the work area or cc failed: no evidence either way
		return c, err
	}
	if err != nil {
		// The symbol tables alone still say what changed.
		for _, src := range differ {
			if d := symbolDiff(b[src], n[src]); d != "" {
				c.OK = false
				c.Details = append(c.Details, fmt.Sprintf("%s: static local data differs (%s); cannot name the functions: %v", src, d, err))
			}
		}
		c.Summary = "static local data differs between the base and rewritten builds"
		if len(changed) > 0 {
			c.Summary += "; " + changedSummary
		}
		if c.OK {
			c.Summary = "only the upstream patch changes static local data"
		}
		return c, nil
	}
	gainedN, lostN := 0, 0
	for _, src := range differ {
		upGain, upLoss := map[string]int{}, map[string]int{}
		if po != nil {
			for _, d := range diffStatics(pb[src], po[src]) {
				if d.gained {
					upGain[d.s.Type]++
				} else {
					upLoss[d.s.Type]++
				}
			}
		}
		for _, d := range diffStatics(pb[src], pn[src]) {
			what := "gains"
			pool := upGain
			if !d.gained {
				what, pool = "loses", upLoss
			}
			line := fmt.Sprintf("%s: %s %s %s", src, d.fn, what, d.s)
			if v.original != nil && pool[d.s.Type] > 0 {
				pool[d.s.Type]--
				c.Details = append(c.Details, line+" (so does the upstream patch: see the report's static-local and print-once findings)")
				continue
			}
			c.OK = false
			if d.gained {
				gainedN++
				line += ": new data in the livepatch starts at its initializer, not at the running kernel's state"
			} else {
				lostN++
				line += ": the builder cannot correlate the function's data; keep a reference to it"
			}
			if v.original != nil {
				line += " (the upstream patch does not do this)"
			}
			c.Details = append(c.Details, line)
		}
	}
	switch {
	case !c.OK && gainedN+lostN == 0:
		c.Summary = changedSummary
	case !c.OK:
		c.Summary = fmt.Sprintf("%d static locals gained and %d lost", gainedN, lostN)
		if v.original != nil {
			c.Summary += " beyond the upstream patch's"
		}
		if len(changed) > 0 {
			c.Summary += "; " + changedSummary
		}
	case len(c.Details) > 0:
		c.Summary = "static local data changes only where the upstream patch changes it"
	default:
		c.Summary = "no function gains or loses mutable static local data"
	}
	return c, nil
}

type staticDiff struct {
	fn     string
	s      unit.Static
	gained bool
}

// uniqueIDRE matches the counter of a __UNIQUE_ID_ name (__COUNTER__,
// as in dynamic debug's __UNIQUE_ID_ddebug356).
var uniqueIDRE = regexp.MustCompile(`\b(__UNIQUE_ID_\w*?)\d+\b`)

// staticKey is what identifies a static local across two builds of a
// function: its declaration with __UNIQUE_ID_ counters removed. The counter
// numbers every such macro use in the unit, so one added #include or
// pr_debug() renumbers every later one; both builders correlate these
// statics by name without the counter (kpatch-build's mangled-name
// comparison, objtool's klp diff), so a renumbering is no change.
func staticKey(s unit.Static) string {
	return uniqueIDRE.ReplaceAllString(s.Type, "${1}")
}

// diffStatics compares the mutable static locals of each function of two
// builds of a unit (as multisets of declarations).
func diffStatics(a, b map[string][]unit.Static) []staticDiff {
	var out []staticDiff
	names := map[string]bool{}
	for f := range a {
		names[f] = true
	}
	for f := range b {
		names[f] = true
	}
	fns := make([]string, 0, len(names))
	for f := range names {
		fns = append(fns, f)
	}
	sort.Strings(fns)
	for _, f := range fns {
		left := map[string]int{}
		for _, s := range a[f] {
			left[staticKey(s)]++
		}
		for _, s := range b[f] {
			if k := staticKey(s); left[k] > 0 {
				left[k]--
				continue
			}
			out = append(out, staticDiff{fn: f, s: s, gained: true})
		}
		for _, s := range a[f] {
			if k := staticKey(s); left[k] > 0 {
				left[k]--
				out = append(out, staticDiff{fn: f, s: s})
			}
		}
	}
	return out
}

// symbolDiff describes how two symbol-table counts differ.
func symbolDiff(a, b map[string]int) string {
	var parts []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if a[k] != b[k] {
			parts = append(parts, fmt.Sprintf("%s: %d -> %d", k, a[k], b[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// mutableStatics returns the mutable static local data of each function of
// a preprocessed unit. Parsing a kernel unit with cc takes seconds, about
// all a re-run of verify spends when every compile comes from the result
// cache, so the answer is kept there too, keyed by the unit's text.
func mutableStatics(ctx context.Context, source string, preprocessed []byte) (map[string][]unit.Static, error) {
	rc := rcache.From(ctx)
	var key string
	if rc != nil {
		key = rc.Key([]byte("mutable-statics, no discarded"), []byte(source), preprocessed)
		var fs map[string][]unit.Static
		if rc.LookupValue(key, &fs) && fs != nil {
			return fs, nil
		}
	}
	u, err := unit.Parse(source+".i", preprocessed)
	if err != nil {
		return nil, err
	}
	fs := map[string][]unit.Static{}
	for _, f := range u.Funcs {
		for _, s := range f.Statics {
			if !s.ReadOnly && !s.Discarded {
				fs[f.Name] = append(fs[f.Name], s)
			}
		}
	}
	rc.StoreValue(key, fs)
	return fs, nil
}

// staticObject is one function-scope static of an object file: gcc names
// it NAME.N, and the functions that refer to it are its function.
type staticObject struct {
	sym     string // NAME.N
	name    string // NAME, without __UNIQUE_ID_ counters
	n       int    // gcc's N
	fn      string // the functions that refer to it (base names, sorted, comma-separated); "" for none
	section string
	size    uint64
	sum     [32]byte
}

// sectionKind is the static's section without its own name: -fdata-sections
// names the section after the symbol (".rodata.symbols.563"), and gcc's
// counter N moves when another function of the file gains or loses a
// static, which changes nothing the builders pair; ".data" against
// ".rodata" or ".bss" is what tells a changed initializer or constness.
func (s staticObject) sectionKind() string {
	return strings.TrimSuffix(s.section, "."+s.sym)
}

// pairedData reports whether the builders pair a static with the running
// kernel's copy and the check compares it: data in .data, .bss or
// .rodata (not .data..once, whose print-once flags both builders copy
// afresh, nor __dyndbg and the other special sections) under a name that
// both builders copy afresh (change.FreshStatic).
func pairedData(s staticObject) bool {
	if change.FreshStatic(s.name, s.section, "") || strings.HasPrefix(s.name, "__UNIQUE_ID_") {
		return false
	}
	if strings.HasPrefix(s.section, ".data..once") || strings.HasPrefix(s.section, ".data.once") {
		return false
	}
	for _, p := range []string{".data", ".bss", ".rodata"} {
		if strings.HasPrefix(s.section, p) {
			return true
		}
	}
	return false
}

// splitStatic splits gcc's name of a function-scope static, NAME.N.
func splitStatic(sym string) (string, int, bool) {
	i := strings.LastIndexByte(sym, '.')
	if i <= 0 || i == len(sym)-1 {
		return "", 0, false
	}
	n, err := strconv.Atoi(sym[i+1:])
	if err != nil || n < 0 || strings.Trim(sym[i+1:], "0123456789") != "" {
		return "", 0, false
	}
	return uniqueIDRE.ReplaceAllString(sym[:i], "${1}"), n, true
}

// localStaticObjects reads the function-scope statics of an object: their
// size and contents as objdiff.Code hashes them (bytes and relocations),
// and the functions whose code refers to them, from the relocations of the
// code sections (directly, or through the section symbol and an offset in
// it, as gas writes references to local data).
func localStaticObjects(path string) ([]staticObject, error) {
	code, err := objdiff.Code(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	// the statics of each section, by symbol index
	statics := map[elf.SectionIndex][]int{}
	for i, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_OBJECT || elf.ST_BIND(s.Info) != elf.STB_LOCAL || s.Section == elf.SHN_UNDEF || int(s.Section) >= len(f.Sections) {
			continue
		}
		if _, _, ok := splitStatic(s.Name); ok {
			statics[s.Section] = append(statics[s.Section], i)
		}
	}
	funcsIn := map[elf.SectionIndex][]elf.Symbol{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			funcsIn[s.Section] = append(funcsIn[s.Section], s)
		}
	}
	relas, err := objdiff.Relocations(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	users := map[int]map[string]bool{}
	for _, r := range relas {
		if f.Class != elf.ELFCLASS64 || f.Sections[r.Target].Flags&elf.SHF_EXECINSTR == 0 || r.Sym < 0 || r.Sym >= len(syms) {
			continue
		}
		obj := -1
		switch s := syms[r.Sym]; {
		case elf.ST_TYPE(s.Info) == elf.STT_SECTION:
			in := statics[s.Section]
			if len(in) == 1 {
				obj = in[0] // -fdata-sections: the section is the static's
				break
			}
			at := r.At()
			for _, j := range in {
				if at >= 0 && uint64(at) >= syms[j].Value && uint64(at) < syms[j].Value+syms[j].Size {
					obj = j
				}
			}
		case slices.Contains(statics[s.Section], r.Sym):
			obj = r.Sym
		}
		if obj < 0 {
			continue
		}
		for _, fn := range funcsIn[r.Target] {
			if r.Off >= fn.Value && r.Off < fn.Value+fn.Size {
				if users[obj] == nil {
					users[obj] = map[string]bool{}
				}
				users[obj][objdiff.BaseName(fn.Name)] = true
			}
		}
	}
	var out []staticObject
	for _, idx := range slices.Sorted(maps.Keys(statics)) {
		for _, i := range statics[idx] {
			s := syms[i]
			name, n, _ := splitStatic(s.Name)
			o := staticObject{sym: s.Name, name: name, n: n, section: f.Sections[s.Section].Name, size: s.Size,
				fn: strings.Join(slices.Sorted(maps.Keys(users[i])), ",")}
			if c, ok := code[s.Name]; ok {
				o.sum = c.Sum
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// pairStatics pairs the function-scope statics of two builds of an object
// the way the builders correlate them: by function and name, in gcc's
// order (N) when a function has several of one name, and only where both
// builds have as many (a gained or lost static is the count check's).
// What stays unpaired (its function's name changed, or an inlined static
// is referred to from other functions now) pairs by name alone on the same
// terms.
func pairStatics(a, b []staticObject) [][2]staticObject {
	var out [][2]staticObject
	pass := func(key func(staticObject) string, a, b []staticObject) (restA, restB []staticObject) {
		ga, gb := map[string][]staticObject{}, map[string][]staticObject{}
		for _, s := range a {
			ga[key(s)] = append(ga[key(s)], s)
		}
		for _, s := range b {
			gb[key(s)] = append(gb[key(s)], s)
		}
		byN := func(x, y staticObject) int { return x.n - y.n }
		for _, k := range slices.Sorted(maps.Keys(ga)) {
			sa, sb := ga[k], gb[k]
			if len(sa) != len(sb) {
				restA = append(restA, sa...)
				restB = append(restB, sb...)
				continue
			}
			slices.SortFunc(sa, byN)
			slices.SortFunc(sb, byN)
			for i := range sa {
				out = append(out, [2]staticObject{sa[i], sb[i]})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(gb)) {
			if _, ok := ga[k]; !ok {
				restB = append(restB, gb[k]...)
			}
		}
		return restA, restB
	}
	ra, rb := pass(func(s staticObject) string { return s.fn + "\x00" + s.name }, a, b)
	pass(func(s staticObject) string { return s.name }, ra, rb)
	return out
}

// changedStatics compares the function-scope statics of the base and the
// rewritten build of each source: a static the builders pair with the
// running kernel's copy (by function and name) must keep its size and
// contents, since the patched code gets the old copy.
func changedStatics(sources []string, base, rewritten map[string][]staticObject) []string {
	var out []string
	for _, src := range sources {
		bs, okB := base[src]
		ns, okN := rewritten[src]
		if !okB || !okN {
			continue
		}
		for _, p := range pairStatics(bs, ns) {
			o, n := p[0], p[1]
			if !pairedData(o) || !pairedData(n) || o.size == n.size && o.sum == n.sum && o.sectionKind() == n.sectionKind() {
				continue
			}
			what := "its initial contents change"
			switch {
			case o.size != n.size:
				what = fmt.Sprintf("its size changes from %d to %d bytes", o.size, n.size)
			case o.sectionKind() != n.sectionKind():
				what = fmt.Sprintf("its initial contents change (%s -> %s)", o.section, n.section)
			}
			where := "function-scope static " + o.name
			if n.fn != "" {
				where = fmt.Sprintf("%s's static local %s", n.fn, o.name)
			}
			syms := o.sym
			if n.sym != o.sym {
				syms += ", " + n.sym + " in the rewritten build"
			}
			out = append(out, fmt.Sprintf("%s: %s (%s): %s; both builders pair it with the running kernel's copy by name, which keeps the old size and contents (the new initializer never takes effect), or refuse the build; give it a new name (a new static gets a fresh copy with the new initializer in the livepatch module; its state restarts), or keep the old declaration",
				src, where, syms, what))
		}
	}
	return out
}
