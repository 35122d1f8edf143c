package verify

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast/unit"
	"github.com/kprewrite/kprewrite/build"
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
// that the upstream patch does not also gain or lose. A static local that
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
	case !c.OK:
		c.Summary = fmt.Sprintf("%d static locals gained and %d lost", gainedN, lostN)
		if v.original != nil {
			c.Summary += " beyond the upstream patch's"
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
		key = rc.Key([]byte("mutable-statics"), []byte(source), preprocessed)
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
			if !s.ReadOnly {
				fs[f.Name] = append(fs[f.Name], s)
			}
		}
	}
	rc.StoreValue(key, fs)
	return fs, nil
}
