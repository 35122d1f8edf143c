// Package oracle asks the compiler what source text means. Its main
// question: where exactly does code use a given struct member? It compiles
// the files with a header in which the member does not exist and collects
// gcc's "has no member named" errors: each one is a type-exact use site,
// inside macro bodies and header inlines included, where a textual search
// would also match same-named members of other structs.
package oracle

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
)

// Use is one use site of a member.
type Use struct {
	File   string // tree-relative
	Line   int
	Col    int    // byte column of the '->' or '.' token
	Struct string // "struct slave" (the aggregate gcc named)
	Member string
	// Expansion is where the outermost macro whose expansion holds the
	// use was invoked, for a use inside a macro body (kfree_rcu(p, rcu)
	// reaches the member in rcupdate.h); nil for a use in plain code.
	Expansion *Expansion
}

// Expansion is a macro invocation gcc names in an "in expansion of macro"
// note.
type Expansion struct {
	Macro string
	File  string
	Line  int
	Col   int
}

var expansionRE = regexp.MustCompile(`^in expansion of macro '([A-Za-z_]\w*)'`)

// outermostExpansion returns the last "in expansion of macro" note that
// follows the diagnostic at i, before the next error or warning.
func outermostExpansion(ds []build.Diagnostic, i int) *Expansion {
	var x *Expansion
	for k := i + 1; k < len(ds) && ds[k].Severity == "note"; k++ {
		if m := expansionRE.FindStringSubmatch(ds[k].Message); m != nil {
			x = &Expansion{Macro: m[1], File: ds[k].File, Line: ds[k].Line, Col: ds[k].Col}
		}
	}
	return x
}

// Result is what an oracle compile found.
type Result struct {
	Uses  []Use
	Other []build.Diagnostic // errors that are not missing-member errors
}

var noMemberRE = regexp.MustCompile(`^'([^']+)'(?: \{aka '([^']+)'\})? has no member named '([^']+)'`)

// Oracle compiles files of a tree for questions about their meaning.
type Oracle struct {
	Env    *kbuild.Env
	Dir    string // scratch directory, this run's own
	n      int
	failed error
}

// Err returns the first failure of the environment (a compiler that cannot
// run, an unusable work area, a canceled run) any question met, or nil.
// Transforms turn an oracle error into a refusal; the driver checks Err so
// that such a failure stops the run instead of reading as evidence.
func (o *Oracle) Err() error { return o.failed }

// compile runs one oracle compile (gcc -fsyntax-only) of a new variant.
func (o *Oracle) compile(ctx context.Context, files map[string][]byte, sources []string) ([]*build.Result, error) {
	o.n++
	comp := &build.Compiler{Env: o.Env, Dir: o.Dir}
	rs, err := comp.Compile(progress.Named(ctx, "oracle"), &build.Variant{Name: fmt.Sprintf("or%02d", o.n%100), Files: files}, sources, build.Options{SyntaxOnly: true})
	if err != nil && o.failed == nil && kperr.IsEnvironment(err) {
		o.failed = err
	}
	// the files of one unit share its compile: its diagnostics count once
	var out []*build.Result
	seen := map[string]bool{}
	for _, r := range rs {
		unit := r.Unit
		if unit == "" {
			unit = r.Source
		}
		if !seen[unit] {
			seen[unit] = true
			out = append(out, r)
		}
	}
	return out, err
}

// MemberUses compiles sources with the given file contents (tree-relative
// path -> content) and returns every use of a member that the contents'
// struct definitions lack.
func (o *Oracle) MemberUses(ctx context.Context, files map[string][]byte, sources []string) (*Result, error) {
	rs, err := o.compile(ctx, files, sources)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	seen := map[string]bool{}
	for _, r := range rs {
		for i, d := range r.Diagnostics {
			if d.Severity != "error" {
				continue
			}
			m := noMemberRE.FindStringSubmatch(d.Message)
			if m == nil {
				res.Other = append(res.Other, d)
				continue
			}
			agg := m[1]
			if m[2] != "" {
				agg = m[2]
			}
			for _, q := range []string{"const ", "volatile "} {
				agg = strings.ReplaceAll(agg, q, "")
			}
			u := Use{File: d.File, Line: d.Line, Col: d.Col, Struct: agg, Member: m[3], Expansion: outermostExpansion(r.Diagnostics, i)}
			key := fmt.Sprintf("%s:%d:%d:%s", u.File, u.Line, u.Col, u.Member)
			if x := u.Expansion; x != nil {
				// one macro body, expanded at several places
				key += fmt.Sprintf("@%s:%d:%d", x.File, x.Line, x.Col)
			}
			if !seen[key] { // a header seen by several sources reports once
				seen[key] = true
				res.Uses = append(res.Uses, u)
			}
		}
	}
	sort.Slice(res.Uses, func(i, j int) bool {
		a, b := res.Uses[i], res.Uses[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return res, nil
}

var undeclaredRE = regexp.MustCompile(`^(?:implicit declaration of function '([A-Za-z_]\w*)'|'([A-Za-z_]\w*)' undeclared)`)

// Ident is a use of an identifier whose declaration was taken away.
type Ident struct {
	File string
	Line int
	Col  int
	Name string
}

// IdentUses compiles sources with the given file contents and returns the
// uses of identifiers that are no longer declared (gcc reports the first
// use in each function). kprewrite renames a definition in an overlay
// header and asks this to learn which functions use it.
func (o *Oracle) IdentUses(ctx context.Context, files map[string][]byte, sources []string, names map[string]bool) ([]Ident, []build.Diagnostic, error) {
	return o.uses(ctx, files, sources, func(ds []build.Diagnostic, i int) (Ident, bool) {
		d := ds[i]
		m := undeclaredRE.FindStringSubmatch(d.Message)
		if d.Severity != "error" || m == nil || !names[m[1]+m[2]] {
			return Ident{}, false
		}
		return Ident{File: d.File, Line: d.Line, Col: d.Col, Name: m[1] + m[2]}, true
	})
}

// uses compiles sources and returns the references use finds in the
// diagnostics (each once), and the other errors.
func (o *Oracle) uses(ctx context.Context, files map[string][]byte, sources []string, use func(ds []build.Diagnostic, i int) (Ident, bool)) ([]Ident, []build.Diagnostic, error) {
	rs, err := o.compile(ctx, files, sources)
	if err != nil {
		return nil, nil, err
	}
	var out []Ident
	var other []build.Diagnostic
	seen := map[Ident]bool{}
	for _, r := range rs {
		for i, d := range r.Diagnostics {
			id, ok := use(r.Diagnostics, i)
			if !ok {
				if d.Severity == "error" {
					other = append(other, d)
				}
				continue
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, other, nil
}

// DeprecationMarker is the message DeprecatedUses looks for: code that
// asks marks a declaration __attribute__((__deprecated__(DeprecationMarker)))
// (and turns the warning on with a _Pragma), and gcc names every reference
// to it, each on its own line, where taking the declaration away reports
// only the first use in a file (an implicit declaration, or an
// "undeclared here" at file scope, declares the name for the rest of it).
const DeprecationMarker = "kprewrite-use"

// Deprecate is the text to put before a declaration of a function (on
// the same line, so no line moves) so DeprecatedUses finds its uses.
const Deprecate = `_Pragma("GCC diagnostic warning \"-Wdeprecated-declarations\"") __attribute__((__deprecated__("` + DeprecationMarker + `"))) `

var deprecatedRE = regexp.MustCompile(`^'([A-Za-z_]\w*)' is deprecated: ` + DeprecationMarker)

// DeprecatedUses compiles sources with the given file contents, in which
// the declarations of names carry Deprecate, and returns every reference
// to them gcc reports (Col is not reliable: gcc gives the start of the
// line). The other diagnostics are returned as they are.
func (o *Oracle) DeprecatedUses(ctx context.Context, files map[string][]byte, sources []string, names map[string]bool) ([]Ident, []build.Diagnostic, error) {
	return o.uses(ctx, files, sources, func(ds []build.Diagnostic, i int) (Ident, bool) {
		d := ds[i]
		m := deprecatedRE.FindStringSubmatch(strings.ReplaceAll(strings.ReplaceAll(d.Message, "\u2018", "'"), "\u2019", "'"))
		if m == nil || !names[m[1]] {
			return Ident{}, false
		}
		// a use inside a macro: where the outermost macro was invoked
		id := Ident{File: d.File, Line: d.Line, Col: d.Col, Name: m[1]}
		if x := outermostExpansion(ds, i); x != nil {
			id.File, id.Line, id.Col = x.File, x.Line, x.Col
		}
		return id, true
	})
}

// Of filters uses to one struct member.
func (r *Result) Of(aggregate, member string) []Use {
	var out []Use
	for _, u := range r.Uses {
		if u.Member == member && (u.Struct == aggregate || strings.TrimPrefix(u.Struct, "struct ") == strings.TrimPrefix(aggregate, "struct ")) {
			out = append(out, u)
		}
	}
	return out
}

// Diagnostics compiles sources with the given file contents and returns
// every diagnostic gcc prints, notes ("in expansion of macro ...")
// included, in order.
func (o *Oracle) Diagnostics(ctx context.Context, files map[string][]byte, sources []string) ([]build.Diagnostic, error) {
	rs, err := o.compile(ctx, files, sources)
	if err != nil {
		return nil, err
	}
	var out []build.Diagnostic
	for _, r := range rs {
		out = append(out, r.Diagnostics...)
	}
	return out, nil
}

// AddedDiagnostics compiles sources with files and returns the
// diagnostics keep selects that compiling them with before gives not:
// what a change of files adds. Each diagnostic of before is taken away
// once (an error that appears twice after and once before is one added).
// before is compiled only when files give a kept diagnostic, so a clean
// compile costs one run. A compile with files that stops at a missing
// #include is an error (MissingInclude): it shows nothing either way.
func (o *Oracle) AddedDiagnostics(ctx context.Context, files, before map[string][]byte, sources []string, keep func(build.Diagnostic) bool) ([]build.Diagnostic, error) {
	after, err := o.Diagnostics(ctx, files, sources)
	if err == nil {
		err = MissingInclude(after)
	}
	if err != nil {
		return nil, err
	}
	var had map[string]int
	var out []build.Diagnostic
	for _, d := range after {
		if !keep(d) {
			continue
		}
		if had == nil {
			bs, err := o.Diagnostics(ctx, before, sources)
			if err != nil {
				return nil, err
			}
			had = map[string]int{}
			for _, b := range bs {
				had[b.File+": "+b.Message]++
			}
		}
		if k := d.File + ": " + d.Message; had[k] > 0 {
			had[k]--
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// MissingInclude returns an error when one of an overlay compile's
// diagnostics says an #include was not found: the file compiles in the
// base tree, so the overlay broke it, and a compile that stops at an
// #include shows no uses at all. Its absence of answers is no answer.
func MissingInclude(ds []build.Diagnostic) error {
	for _, d := range ds {
		if d.Severity == "error" && strings.HasSuffix(d.Message, ": No such file or directory") {
			return fmt.Errorf("in kprewrite's overlay compile, %s:%d cannot find an include file (%s), so what it uses is unknown", d.File, d.Line, d.Message)
		}
	}
	return nil
}
