package build

import (
	"bytes"
	"context"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/objdiff"
)

// CodeDiff is what two variants make of one source: the two compiles and,
// when both succeeded, the functions and data whose code differs.
type CodeDiff struct {
	Source  string
	A, B    *Result
	Changed []string // names objdiff.Compare gives, in its order
}

// CompareCode compiles sources in variants a and b and compares the two
// objects of each (objdiff.Program: functions, data, and the sections no
// symbol covers). The question behind samecode and overlay: does a header
// as the rewrite leaves it give these files the code upstream's gives?
func (c *Compiler) CompareCode(ctx context.Context, a, b *Variant, sources []string, opt Options) ([]CodeDiff, error) {
	ra, err := c.Compile(ctx, a, sources, opt)
	if err != nil {
		return nil, err
	}
	rb, err := c.Compile(ctx, b, sources, opt)
	if err != nil {
		return nil, err
	}
	out := make([]CodeDiff, len(sources))
	for i, s := range sources {
		d := CodeDiff{Source: s, A: ra[i], B: rb[i]}
		if !d.A.Failed && !d.B.Failed {
			ca, err := objdiff.Program(d.A.Object)
			if err != nil {
				return nil, kperr.Toolchainf(err, "reading the object of %s", s)
			}
			cb, err := objdiff.Program(d.B.Object)
			if err != nil {
				return nil, kperr.Toolchainf(err, "reading the object of %s", s)
			}
			for _, ch := range objdiff.Compare(ca, cb) {
				d.Changed = append(d.Changed, ch.Name)
			}
		}
		out[i] = d
	}
	return out, nil
}

// preprocessBatch is how many sources SplitByPreprocessed preprocesses at
// once: each unit is megabytes of text, held in both variants until
// compared.
const preprocessBatch = 8

// SplitByPreprocessed preprocesses sources in variants a and b (gcc -E)
// and splits them into those whose two units are the same token for token
// (line markers aside) and those that differ or fail. Two units the same
// but for line markers compile to the same functions and data: __LINE__
// and __FILE__ are expanded by then, and only the debug line table reads
// the markers. A unit that names __builtin_LINE or __builtin_FILE, which
// the compiler answers from the markers, counts as different. Preprocessing
// costs a fraction of a compile, so a header change that reaches few of a
// header's many includers is compiled only in those.
//
// A unit that reads one of the files in compile (tree-relative, its line
// markers say) counts as different too: the same either way, it still
// holds text no compiler has seen (the patch's other files), which only a
// compile shows builds.
//
// It stops once more than limit differ (limit < 0: never): a caller that
// compiles at most limit of them has its answer, and a header change that
// reaches every includer of a widely used header costs limit+1 units, not
// all of them.
func (c *Compiler) SplitByPreprocessed(ctx context.Context, a, b *Variant, sources []string, compile map[string]bool, limit int) (same, differ []string, err error) {
	opt := Options{Preprocess: true, MaxErrors: 1}
	for lo := 0; lo < len(sources); lo += preprocessBatch {
		batch := sources[lo:min(lo+preprocessBatch, len(sources))]
		ra, err := c.Compile(ctx, a, batch, opt)
		if err != nil {
			return nil, nil, err
		}
		rb, err := c.Compile(ctx, b, batch, opt)
		if err != nil {
			return nil, nil, err
		}
		for i, s := range batch {
			if !ra[i].Failed && !rb[i].Failed && !readsAny(ra[i].Preprocessed, compile) && SameUnit(ra[i].Preprocessed, rb[i].Preprocessed) {
				same = append(same, s)
			} else {
				differ = append(differ, s)
			}
		}
		if limit >= 0 && len(differ) > limit {
			break
		}
	}
	return same, differ, nil
}

// SameUnit reports whether two gcc -E outputs are the same but for their
// line markers ("# 12 \"file\" 2" lines) and blank lines (gcc's filler
// for lines that held comments or directives), and neither asks the compiler
// for its own idea of the line (__builtin_LINE, __builtin_FILE).
func SameUnit(a, b []byte) bool {
	if bytes.Contains(a, []byte("__builtin_LINE")) || bytes.Contains(a, []byte("__builtin_FILE")) {
		return false
	}
	next := func(s []byte) ([]byte, []byte) { // the next line that is no marker and not blank
		for len(s) > 0 {
			line, rest, _ := bytes.Cut(s, []byte("\n"))
			if !isMarker(line) && len(bytes.TrimSpace(line)) > 0 {
				return line, rest
			}
			s = rest
		}
		return nil, nil
	}
	for {
		var la, lb []byte
		la, a = next(a)
		lb, b = next(b)
		if la == nil || lb == nil {
			return la == nil && lb == nil
		}
		if !bytes.Equal(la, lb) {
			return false
		}
	}
}

// isMarker reports whether a line of gcc -E output is a line marker
// ("# 42 \"include/linux/foo.h\" 1 3 4").
func isMarker(line []byte) bool {
	return len(line) > 2 && line[0] == '#' && line[1] == ' ' && line[2] >= '0' && line[2] <= '9'
}

// readsAny reports whether a gcc -E output's line markers name one of
// files.
func readsAny(unit []byte, files map[string]bool) bool {
	if len(files) == 0 {
		return false
	}
	for len(unit) > 0 {
		var line []byte
		line, unit, _ = bytes.Cut(unit, []byte("\n"))
		if !isMarker(line) {
			continue
		}
		if _, quoted, ok := bytes.Cut(line, []byte(" \"")); ok {
			if name, _, ok := bytes.Cut(quoted, []byte("\"")); ok && files[string(name)] {
				return true
			}
		}
	}
	return false
}
