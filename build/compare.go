package build

import (
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
