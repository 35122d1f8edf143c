// Command astdwarf measures how well ast/ reads real headers: for every
// named struct and union that the DWARF of a built kernel (vmlinux and its
// modules) places in a header of the source tree, the member names ast/
// reads from that header, with the members the config compiles out dropped,
// must equal DWARF's, in order (anonymous struct and union members
// flattened into their parent in both). It prints how many structs it
// compared, how many are equal, and the mismatches grouped by cause with
// examples.
//
//	go run ./internal/astdwarf -tree $KPREWRITE_LINUX_TREE -build $KPREWRITE_LINUX_BUILD
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/kbuild"
)

func main() {
	tree := flag.String("tree", os.Getenv("KPREWRITE_LINUX_TREE"), "the kernel source tree")
	build := flag.String("build", os.Getenv("KPREWRITE_LINUX_BUILD"), "its complete O= build, with DWARF (vmlinux and *.ko)")
	config := flag.String("config", "", "the .config (default: BUILD/.config)")
	n := flag.Int("n", 5, "examples per cause")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	if *tree == "" || *build == "" {
		fmt.Fprintln(os.Stderr, "astdwarf: give -tree and -build (eval \"$(scripts/prepare-kernel.sh)\" sets both)")
		os.Exit(2)
	}
	rep, err := measure(*tree, *build, *config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "astdwarf:", err)
		os.Exit(2)
	}
	if *asJSON {
		rep.trim(*n)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "astdwarf:", err)
			os.Exit(2)
		}
		return
	}
	rep.print(os.Stdout, *n)
}

// report is the measurement's outcome.
type report struct {
	Objects    int            `json:"objects"`
	Compared   int            `json:"compared"`
	Equal      int            `json:"equal"`
	Mismatched int            `json:"mismatched"`
	ByCause    []causeGroup   `json:"by_cause"`
	Macros     map[string]int `json:"macros,omitempty"`    // mismatches caused by a macro, by its name
	Undecided  map[string]int `json:"undecided,omitempty"` // "unknown #if" mismatches by the expression the config cannot decide
	// CompilerDecided counts the structs compared again with the values
	// the compiler gave the #if expressions the config cannot decide
	// (kbuild.CondsInUnit); CompilerFailed says why it could not for
	// some units.
	CompilerDecided int      `json:"compiler_decided"`
	CompilerFailed  []string `json:"compiler_failed,omitempty"`
}

// causeGroup is the mismatches of one cause.
type causeGroup struct {
	Cause    string   `json:"cause"`
	Count    int      `json:"count"`
	Examples []result `json:"examples"`
}

// measure reads the DWARF of the build and compares every header struct.
func measure(tree, build, config string) (*report, error) {
	tree, err := filepath.Abs(tree)
	if err != nil {
		return nil, err
	}
	build, err = filepath.Abs(build)
	if err != nil {
		return nil, err
	}
	if config == "" {
		config = filepath.Join(build, ".config")
	}
	cfg, err := kbuild.ReadConfig(config)
	if err != nil {
		return nil, err
	}
	objs, err := objects(build)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("no vmlinux or *.ko in %s: build the kernel first", build)
	}
	pm := pathMapper{tree: filepath.Clean(tree), build: filepath.Clean(build)}
	seen := map[string]bool{}
	var structs []*dwarfStruct
	for _, o := range objs {
		if err := readObject(filepath.Join(build, o), o, pm, seen, &structs); err != nil {
			return nil, err
		}
	}
	files := map[string]*ast.File{}
	parse := func(rel string) (*ast.File, error) {
		if f, ok := files[rel]; ok {
			return f, nil
		}
		src, err := os.ReadFile(filepath.Join(tree, rel))
		if err != nil {
			return nil, err
		}
		f := ast.Parse(rel, src)
		files[rel] = f
		return f, nil
	}
	for _, ds := range structs {
		if _, err := parse(ds.Header); err != nil {
			return nil, err
		}
	}
	renames := identRenames(files)
	var results []result
	for _, ds := range structs {
		results = append(results, compare(ds, files[ds.Header], cfg, renames, nil))
	}
	// the #if expressions the config cannot decide are asked of the
	// compiler, in the unit DWARF read the struct from
	byUnit := map[string][]string{}
	for i, r := range results {
		if r.Cause == causeUnknown && structs[i].Unit != "" {
			for _, e := range r.Undecided {
				if !slices.Contains(byUnit[structs[i].Unit], e) {
					byUnit[structs[i].Unit] = append(byUnit[structs[i].Unit], e)
				}
			}
		}
	}
	decided := map[string]map[string]bool{}
	var failed []string
	for _, u := range slices.Sorted(maps.Keys(byUnit)) {
		d, err := kbuild.CondsInUnit(context.Background(), build, u, byUnit[u])
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		decided[u] = d
	}
	n := 0
	for i, r := range results {
		if d, ok := decided[structs[i].Unit]; ok && r.Cause == causeUnknown {
			results[i] = compare(structs[i], files[structs[i].Header], cfg, renames, d)
			n++
		}
	}
	rep := summarize(len(objs), results)
	rep.CompilerDecided, rep.CompilerFailed = n, failed
	return rep, nil
}

// objects lists vmlinux and the modules of a build, relative to it, sorted.
func objects(build string) ([]string, error) {
	var out []string
	if _, err := os.Stat(filepath.Join(build, "vmlinux")); err == nil {
		out = append(out, "vmlinux")
	}
	var mods []string
	err := filepath.WalkDir(build, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "source") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			rel, _ := filepath.Rel(build, p)
			mods = append(mods, rel)
		}
		return nil
	})
	sort.Strings(mods)
	return append(out, mods...), err
}

// summarize counts and groups the results, in a stable order.
func summarize(objects int, results []result) *report {
	sort.Slice(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if a.Header != b.Header {
			return a.Header < b.Header
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Kind+" "+a.Name < b.Kind+" "+b.Name
	})
	rep := &report{Objects: objects, Compared: len(results), Macros: map[string]int{}, Undecided: map[string]int{}}
	groups := map[string]*causeGroup{}
	for _, r := range results {
		if r.Cause == "" {
			rep.Equal++
			continue
		}
		rep.Mismatched++
		g := groups[r.Cause]
		if g == nil {
			g = &causeGroup{Cause: r.Cause}
			groups[r.Cause] = g
		}
		g.Count++
		g.Examples = append(g.Examples, r)
		if r.Macro != "" {
			rep.Macros[r.Macro]++
		}
		for _, e := range r.Undecided {
			rep.Undecided[e]++
		}
	}
	for _, c := range causeOrderList {
		if g := groups[c]; g != nil {
			rep.ByCause = append(rep.ByCause, *g)
		}
	}
	return rep
}

// trim keeps n examples per cause.
func (rep *report) trim(n int) {
	for i := range rep.ByCause {
		if len(rep.ByCause[i].Examples) > n {
			rep.ByCause[i].Examples = rep.ByCause[i].Examples[:n]
		}
	}
}

func (rep *report) print(w io.Writer, n int) {
	fmt.Fprintf(w, "astdwarf: %d objects, %d header structs and unions compared, %d equal, %d mismatched\n",
		rep.Objects, rep.Compared, rep.Equal, rep.Mismatched)
	fmt.Fprintf(w, "%d compared again with the #if values the compiler gave in their unit\n", rep.CompilerDecided)
	for _, f := range rep.CompilerFailed {
		fmt.Fprintf(w, "  the compiler could not decide: %s\n", f)
	}
	for _, g := range rep.ByCause {
		fmt.Fprintf(w, "\n%s: %d\n", g.Cause, g.Count)
		for i, r := range g.Examples {
			if i == n {
				break
			}
			fmt.Fprintf(w, "  %s\n", r.example())
		}
	}
	tally(w, "macros behind the mismatches", rep.Macros)
	tally(w, "#if expressions the config cannot decide", rep.Undecided)
}

// tally prints counts by name, largest first.
func tally(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	keys := slices.Sorted(maps.Keys(m))
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(w, "  %-50s %d\n", k, m[k])
	}
}

// identRenames returns the object-like macros of the headers whose body is
// one identifier and that no header defines otherwise ("#define rcu_head
// callback_head" in include/linux/types.h): the compiler sees their body
// where ast reads their name.
func identRenames(files map[string]*ast.File) map[string]string {
	out := map[string]string{}
	bad := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		for _, m := range files[name].Macros {
			if m.Undef || m.FuncLike || !ast.IsIdent(m.Body) || m.Body == m.Name {
				continue
			}
			if old, ok := out[m.Name]; ok && old != m.Body {
				bad[m.Name] = true
			}
			out[m.Name] = m.Body
		}
	}
	for n := range bad {
		delete(out, n)
	}
	return out
}
