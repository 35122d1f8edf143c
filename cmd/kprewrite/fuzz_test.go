package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// fuzzExitEnvironment is the exit status of a failure of the environment
// (compiler, work area) or of kprewrite itself.
const fuzzExitEnvironment = 3

// quickMinimize bounds the time the fuzzing engine spends minimizing each
// input that finds new coverage, unless -fuzzminimizetime is given. By
// default it spends up to a minute on each: with patches of a few KB and
// every early input finding new coverage, that took the whole run (7
// inputs executed in a minute). Crashers are still minimized, within the
// same bound.
func quickMinimize(f *testing.F) {
	given := false
	flag.Visit(func(fl *flag.Flag) {
		if fl.Name == "test.fuzzminimizetime" {
			given = true
		}
	})
	if !given {
		if err := flag.Set("test.fuzzminimizetime", "1s"); err != nil {
			f.Fatal(err)
		}
	}
}

// treeStamp is the name, size, mode and modification time of every file
// and directory under a tree: a write into the tree changes it.
func treeStamp(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %v %d\n", p, info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkExit checks the invariants of one command's exit: the status is 0,
// 1, 2 or 3; a bad input (2) is one error line and leaves no output file;
// 3 is accepted only as a failure of the environment (compiler, make,
// work area) that says so in one line, never as an internal error.
func checkExit(t *testing.T, cmd string, code int, errs, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	switch code {
	case exitOK, exitNeedsHuman:
	case exitBadInput:
		if len(lines) != 1 {
			t.Errorf("%s: bad input gives %d lines: %q", cmd, len(lines), errs)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: output file written on bad input", cmd)
		}
	case fuzzExitEnvironment:
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "kprewrite: error: ") || !envFailureRE.MatchString(last) {
			t.Errorf("%s: exit 3 without an environment failure: %q", cmd, errs)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: output file written on exit 3", cmd)
		}
	default:
		t.Errorf("%s: exit %d: %s", cmd, code, errs)
	}
}

// envFailureRE matches what an environment failure names: the compiler,
// make, or the work area.
var envFailureRE = regexp.MustCompile(`(?i)\b(gcc|compiler|make|work area|cache|toolchain|canceled)\b`)

// internalRE matches errors that are failures of kprewrite itself, whatever
// the status they exit with: edits of two transforms (or of one twice) that
// overlap.
var internalRE = regexp.MustCompile(`conflicting edits|edit out of range`)

// FuzzRewrite feeds mutated patches to analyze and rewrite on the hdr tree
// (no config: no compiler runs, so it is fast). Whatever the input, the
// exit status is 0, 1 or 2, a bad input is one error line, a failed
// rewrite leaves no output file, and the tree is never written.
func FuzzRewrite(f *testing.F) {
	quickMinimize(f)
	dir := "../../testdata/kernels/hdr"
	seeds, _ := filepath.Glob(dir + "/patches/*.patch")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	stamp := treeStamp(f, dir)
	tmp := f.TempDir() // one per process: the input and output files are reused
	in, out := filepath.Join(tmp, "in.patch"), filepath.Join(tmp, "out.patch")
	cache := filepath.Join(tmp, "cache")
	f.Fuzz(func(t *testing.T, data []byte) {
		os.Remove(out)
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"analyze", "rewrite"} {
			args := []string{cmd, "--tree", dir, "--cache", cache}
			if cmd == "rewrite" {
				args = append(args, "-o", out)
			}
			code, _, errs := kp(t, append(args, in)...)
			if code == fuzzExitEnvironment {
				t.Errorf("%s: exit 3 on a tree without config (no compiler runs): %s", cmd, errs)
			}
			checkExit(t, cmd, code, errs, out)
		}
		if treeStamp(t, dir) != stamp {
			t.Fatalf("the tree %s was written", dir)
		}
	})
}

// planTrees are the configured miniature trees FuzzPlan rewrites on: new
// members in spare bits (flags), holes and shadow variables (conn), struct
// extensions (ext).
var planTrees = []string{"flags", "conn", "ext"}

// planStrategies are the --strategy values FuzzPlan chooses from.
var planStrategies = []string{"auto", "bitfield", "structext", "hole", "shadow"}

// FuzzPlan drives the planning of bitfield, hole, structext and shadow on
// the configured miniature trees, where gcc answers the questions the
// transforms ask. An input is a seed patch of one of the trees and a
// program of structure-aware mutations (mutPatch): a member's type,
// name or width changed, members inserted, moved or dropped, hunks
// dropped, uses changed or added, other headers drawn in. The result is
// always a patch that applies to the tree. Invariants: no panic; exit 0,
// 1, 2 or 3 (3 only for an environment failure that says so); one line
// and no output on 2; the tree is never written; and when rewrite exits 0,
// the rewritten patch applies to the tree and changes no struct or union
// definition of a header that the tree has (so every existing layout is
// kept).
func FuzzPlan(f *testing.F) {
	quickMinimize(f)
	// Without -fuzz, go test runs the seed corpus: the golden tests already
	// rewrite each seed patch, so only the mutation programs below run.
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	type treeSeeds struct {
		dir     string
		tree    *tree.Tree
		stamp   string
		seeds   [][]byte
		headers []string
	}
	var trees []*treeSeeds
	for ti, name := range planTrees {
		dir := filepath.Join("../../testdata/kernels", name)
		tr, err := tree.Open(dir)
		if err != nil {
			f.Fatal(err)
		}
		ts := &treeSeeds{dir: dir, tree: tr, stamp: treeStamp(f, dir)}
		files, _ := filepath.Glob(dir + "/patches/*.patch")
		for si, s := range files {
			data, err := os.ReadFile(s)
			if err != nil {
				f.Fatal(err)
			}
			ts.seeds = append(ts.seeds, data)
			if fuzzing {
				// each seed unchanged, with auto (and analyze) and with
				// one of the four strategies
				f.Add(uint8(ti), uint8(si), uint8(1), []byte{})
				f.Add(uint8(ti), uint8(si), uint8((1+si%4)<<1), []byte{})
			}
		}
		filepath.WalkDir(filepath.Join(dir, "include"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".h") {
				rel, _ := filepath.Rel(dir, p)
				ts.headers = append(ts.headers, filepath.ToSlash(rel))
			}
			return nil
		})
		trees = append(trees, ts)
	}
	// programs that exercise each mutation, each with one strategy, on
	// every tree when fuzzing and on one in turn otherwise
	progs := [][]byte{
		{opRetype, 0, 3},
		{opWidth, 1, 5, opRename, 0, 1},
		{opInsert, 0, 2, opAddUse, 0, 4},
		{opDropHunk, 0, 0, opUse, 2, 7},
		{opTouch, 1, 0, opMove, 3, 1, opDelete, 5, 0},
		{opInsert, 9, 0, opRetype, 1, 6, opDupLine, 3, 17},
	}
	for i, prog := range progs {
		for ti := range planTrees {
			if fuzzing || ti == i%len(planTrees) {
				f.Add(uint8(ti), uint8(i), uint8(i%len(planStrategies))<<1|uint8(i&1), prog)
			}
		}
	}
	tmp := f.TempDir()
	// One work area for the whole process: the plain trees' generated
	// headers and commands are set up once.
	cache := filepath.Join(tmp, "cache")
	in, out := filepath.Join(tmp, "in.patch"), filepath.Join(tmp, "out.patch")
	f.Fuzz(func(t *testing.T, treeSel, seedSel, mode uint8, prog []byte) {
		ts := trees[int(treeSel)%len(trees)]
		if len(prog) > 60 {
			prog = prog[:60] // 20 mutations are plenty; longer programs only cost time
		}
		mp, err := newMutPatch(ts.tree, ts.seeds[int(seedSel)%len(ts.seeds)], ts.headers)
		if err != nil {
			t.Fatalf("seed does not apply: %v", err)
		}
		mp.run(prog)
		text := mp.render()
		if text == nil {
			return // every change mutated away
		}
		os.Remove(out)
		if err := os.WriteFile(in, text, 0o644); err != nil {
			t.Fatal(err)
		}
		strategy := planStrategies[int(mode>>1)%len(planStrategies)]
		base := []string{"--tree", ts.dir, "--config", filepath.Join(ts.dir, "config"), "--cache", cache, "--strategy", strategy}
		if mode&1 != 0 {
			code, _, errs := kp(t, append(append([]string{"analyze"}, base...), in)...)
			checkPlanExit(t, "analyze", code, errs, out, text)
		}
		code, _, errs := kp(t, append(append([]string{"rewrite"}, base...), "-o", out, "--report", filepath.Join(tmp, "report.txt"), in)...)
		t.Logf("%s --strategy %s: rewrite exits %d %s", ts.dir, strategy, code, oneLine(errs))
		if treeStamp(t, ts.dir) != ts.stamp {
			t.Fatalf("the tree %s was written", ts.dir)
		}
		checkPlanExit(t, "rewrite", code, errs, out, text)
		if code != exitOK {
			return
		}
		rw, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("rewrite exits 0 without output: %v", err)
		}
		checkRewritten(t, ts.tree, rw, text)
	})
}

// checkPlanExit checks the exit of a command on a patch that applies to the
// tree: checkExit's invariants, and no internal error under exit 2.
func checkPlanExit(t *testing.T, cmd string, code int, errs, out string, input []byte) {
	t.Helper()
	checkExit(t, cmd, code, errs, out)
	if code != exitBadInput {
		return
	}
	if internalRE.MatchString(errs) {
		t.Errorf("%s: an internal error reported as bad input: %s\ninput:\n%s", cmd, errs, input)
	}
}

// checkRewritten checks a rewritten patch that rewrite passed (exit 0): it
// applies to the tree, and no struct or union that a header of the tree
// defines is changed by it.
func checkRewritten(t *testing.T, tr *tree.Tree, rw, input []byte) {
	t.Helper()
	set, err := patch.Read("rewritten", rw, patch.Options{Strip: -1})
	if err != nil {
		t.Fatalf("the rewritten patch does not read back: %v\ninput:\n%s\nrewritten:\n%s", err, input, rw)
	}
	ov := tree.NewOverlay(tr)
	for _, p := range set.Patches {
		res, err := p.Apply(ov)
		if err != nil {
			t.Fatalf("the rewritten patch does not apply to the tree: %v\ninput:\n%s\nrewritten:\n%s", err, input, rw)
		}
		for _, r := range res {
			if r.New == nil {
				ov.Delete(r.Path)
			} else {
				ov.Set(r.Path, r.New)
			}
		}
	}
	for _, path := range ov.Changed() {
		if !change.IsHeader(path) || !tr.Exists(path) {
			continue
		}
		old, _ := tr.ReadFile(path)
		var nw []byte
		if !ov.Deleted(path) {
			nw, _ = ov.ReadFile(path)
		}
		before, after := structDefs(path, old), structDefs(path, nw)
		for key, def := range before {
			if after[key] != def {
				t.Fatalf("rewrite exits 0 but changes %s in %s:\n-%s\n+%s\ninput:\n%s\nrewritten:\n%s", key, path, def, after[key], input, rw)
			}
		}
	}
}

// structDefs maps "struct NAME" to the normalised text of its definition
// (the last one when #if branches define it twice).
func structDefs(path string, src []byte) map[string]string {
	out := map[string]string{}
	if src == nil {
		return out
	}
	af := ast.Parse(path, src)
	for _, s := range af.Structs {
		if s.Name == "" || s.Parent != nil {
			continue
		}
		key := s.Kind + " " + s.Name + " " + s.Cond.String()
		out[key] = af.Normalized(s.Span)
	}
	return out
}
