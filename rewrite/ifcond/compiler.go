package ifcond

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
)

// maxProbed bounds the units preprocessed to decide a condition the
// config cannot: a header more widely included is left to the engineer.
const maxProbed = 200

// unknownTerms are the #if expressions of the members' conditions (nested
// members included) that the config cannot decide, each once, in order.
func unknownTerms(cfg *kbuild.Config, lists ...[]*ast.Member) []string {
	var out []string
	var walk func(ms []*ast.Member)
	walk = func(ms []*ast.Member) {
		for _, m := range ms {
			for _, t := range m.Cond {
				if cfg.EvalExpr(t.Expr) == kbuild.TriUnknown && !slices.Contains(out, t.Expr) {
					out = append(out, t.Expr)
				}
			}
			if m.Nested != nil {
				walk(m.Nested.Members)
			}
		}
	}
	for _, ms := range lists {
		walk(ms)
	}
	return out
}

// evalCond is kbuild.Config.EvalCond with the values the compiler gave the
// expressions the config cannot decide.
func evalCond(cfg *kbuild.Config, c ast.Cond, known map[string]bool) kbuild.Tri {
	res := kbuild.True
	for _, t := range c {
		v := cfg.EvalExpr(t.Expr)
		if b, ok := known[t.Expr]; ok && v == kbuild.TriUnknown {
			v = kbuild.False
			if b {
				v = kbuild.True
			}
		}
		if v == kbuild.TriUnknown {
			res = kbuild.TriUnknown
			continue
		}
		if (v == kbuild.True) != t.Want {
			return kbuild.False
		}
	}
	return res
}

// probeRE finds a probe's answer in gcc -E output.
var probeRE = regexp.MustCompile(`__kprewrite_ifcond_(\d+)_([01])\b`)

// compilerValues asks the compiler what the expressions the config cannot
// decide (DEBUG, which fs/xfs/xfs.h defines under CONFIG_XFS_DEBUG) are
// where the struct is defined, in every unit the config builds that
// includes the header: each unit is preprocessed (gcc -E, kbuild's command
// for it) with the header carrying, right before the struct, one #if per
// expression. It returns the distinct sets of values the units that see
// the struct have, and the evidence; or why not.
func compilerValues(p *rewrite.Pass, header string, cur *ast.File, st *ast.Struct, terms []string) ([]map[string]bool, string, string) {
	if err := p.Env.Prepare(); err != nil {
		return nil, "", p.Failed(err).Error()
	}
	hu, err := p.Env.HeaderUsers(header)
	if err != nil {
		return nil, "", "its users are not known: " + err.Error()
	}
	cands := hu.Candidates()
	if len(cands) == 0 {
		return nil, "", "no file the config builds includes " + header
	}
	if len(cands) > maxProbed {
		return nil, "", fmt.Sprintf("%d files the config may build include %s, more than the %d kprewrite preprocesses", len(cands), header, maxProbed)
	}
	units, err := p.Compilable(cands)
	if err != nil {
		return nil, "", err.Error()
	}
	if len(units) == 0 {
		return nil, "", "no file that includes " + header + " compiles in the base tree"
	}
	total := len(units)
	var probe strings.Builder
	probe.WriteString("/* kprewrite: ifcond probe */\n")
	for i, t := range terms {
		fmt.Fprintf(&probe, "#if %s\n__kprewrite_ifcond_%d_1\n#else\n__kprewrite_ifcond_%d_0\n#endif\n", oneLine(t), i, i)
	}
	at := ast.LineStart(cur.Src, st.Span.Off)
	text := string(cur.Src[:at]) + probe.String() + string(cur.Src[at:])
	files := p.CurrentFiles()
	files[header] = []byte(text)
	dir, err := p.WorkDir()
	if err != nil {
		return nil, "", err.Error()
	}
	comp := &build.Compiler{Env: p.Env, Dir: dir}
	v := &build.Variant{Name: "ifcnd", Files: files}
	var rs []*build.Result
	for len(units) > 0 {
		// a few at a time: a unit's gcc -E output is megabytes
		batch := units[:min(len(units), 16)]
		units = units[len(batch):]
		got, err := comp.Compile(progress.Named(p.Context(), "ifcond"), v, batch, build.Options{Preprocess: true, MaxErrors: 5})
		if err != nil {
			return nil, "", p.Failed(err).Error()
		}
		for _, r := range got {
			if !r.Failed {
				r.Preprocessed = []byte(strings.Join(probeRE.FindAllString(string(r.Preprocessed), -1), "\n"))
			}
		}
		rs = append(rs, got...)
	}
	var sets []map[string]bool
	seeing := 0
	for _, r := range rs {
		if r.Failed {
			return nil, "", fmt.Sprintf("gcc -E %s failed: %s", r.Source, strings.Join(build.Failures([]*build.Result{r}), "; "))
		}
		got := map[string]bool{}
		for _, m := range probeRE.FindAllStringSubmatch(string(r.Preprocessed), -1) {
			i, _ := strconv.Atoi(m[1])
			if i >= len(terms) {
				continue
			}
			v := m[2] == "1"
			if old, ok := got[terms[i]]; ok && old != v {
				// the header seen twice, with other values: no one answer
				return nil, "", fmt.Sprintf("%s sees %s twice, with %q true and false", r.Source, header, terms[i])
			}
			got[terms[i]] = v
		}
		if len(got) == 0 {
			continue // the unit does not see the struct
		}
		if len(got) != len(terms) {
			return nil, "", fmt.Sprintf("gcc -E %s answered for %d of the %d conditions", r.Source, len(got), len(terms))
		}
		seeing++
		if !slices.ContainsFunc(sets, func(s map[string]bool) bool { return maps.Equal(s, got) }) {
			sets = append(sets, got)
		}
	}
	if seeing == 0 {
		return nil, "", fmt.Sprintf("none of the %d files the config builds that include %s sees the struct", total, header)
	}
	var vals []string
	for _, t := range terms {
		var vs []string
		for _, s := range sets {
			if v := strconv.FormatBool(s[t]); !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		vals = append(vals, fmt.Sprintf("#if %s is %s", oneLine(t), strings.Join(vs, " in some, ")))
	}
	how := fmt.Sprintf("%s under the config in the %d files the config builds that include %s and see the struct (each preprocessed by gcc -E with kbuild's command; %s)",
		strings.Join(vals, ", "), seeing, header, hu.Method)
	return sets, how, ""
}

// oneLine joins a condition's continued lines.
func oneLine(expr string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(expr, "\\\n", " ")), " ")
}

// compilerNoOp decides the conditions the config cannot (terms) with the
// compiler (compilerValues) and compares the preprocessed definitions
// before and after for each set of values the units have. When the change
// is a no-op in every unit it returns the values of the first set, the
// number of members and the evidence; nothing when it is not a no-op; why
// when the compiler cannot tell, with what makes it a no-op.
func compilerNoOp(p *rewrite.Pass, header string, cur *ast.File, st *ast.Struct, pre, post []*ast.Member, terms []string, changed map[string]bool) (map[string]bool, int, string, string) {
	cfg := p.Env.Config
	same := func(known map[string]bool) (int, bool) {
		a, why := preprocessed(cfg, pre, changed, known)
		b, why2 := preprocessed(cfg, post, changed, known)
		return len(a), why == "" && why2 == "" && strings.Join(a, "; ") == strings.Join(b, "; ")
	}
	when := noOpWhen(terms, same)
	if when == "" {
		return nil, 0, "", "" // no values of the conditions make it one
	}
	sets, how, why := compilerValues(p, header, cur, st, terms)
	if why != "" {
		var conds []string
		for _, t := range terms {
			conds = append(conds, "#if "+oneLine(t))
		}
		return nil, 0, "", fmt.Sprintf("%s names macros that are no CONFIG_ option, which the config alone does not decide, and the compiler could not (%s); the change is a no-op under the config %s: check it in what gcc -E gives for a file the config builds that includes %s, and if so drop the header hunk (the definition stays as it is)",
			strings.Join(conds, ", "), why, when, header)
	}
	n := 0
	for i, s := range sets {
		m, ok := same(s)
		if !ok {
			return nil, 0, "", ""
		}
		if i == 0 {
			n = m
		}
	}
	return sets[0], n, how, ""
}

// noOpWhen says under which values of the terms the definitions are the
// same ("if defined(DEBUG) is false"), "" under none; with more than 4
// terms it does not enumerate them.
func noOpWhen(terms []string, same func(map[string]bool) (int, bool)) string {
	if len(terms) > 4 {
		return "if the conditions leave the definition the same"
	}
	var alts []string
	for bits := 0; bits < 1<<len(terms); bits++ {
		known := map[string]bool{}
		var parts []string
		for i, t := range terms {
			known[t] = bits&(1<<i) != 0
			parts = append(parts, fmt.Sprintf("%s is %t", oneLine(t), known[t]))
		}
		if _, ok := same(known); ok {
			alts = append(alts, strings.Join(parts, " and "))
		}
	}
	if len(alts) == 0 {
		return ""
	}
	return "if " + strings.Join(alts, ", or if ")
}
