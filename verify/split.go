package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
)

// split writes one patch per object (vmlinux, each module) to in.SplitDir
// and checks that each applies to the base tree and compiles on its own.
func split(ctx context.Context, env *kbuild.Env, comp *build.Compiler, in Input, res []*patch.FileResult) (Check, []Split, error) {
	c := Check{Name: "split", OK: true}
	var files []string
	for _, f := range in.Rewritten.Files {
		files = append(files, f.Path())
	}
	groups := objectsOf(env, files)
	var objs []string
	for o := range groups {
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool {
		if (objs[i] == "vmlinux") != (objs[j] == "vmlinux") {
			return objs[i] == "vmlinux"
		}
		return objs[i] < objs[j]
	})
	if err := os.MkdirAll(in.SplitDir, 0o755); err != nil {
		return c, nil, kperr.Diskf(err, "--split: cannot create %s", in.SplitDir)
	}
	var out []Split
	for i, o := range objs {
		if o == string(kbuild.NotBuilt) || o == string(kbuild.UnknownObject) {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s: the config does not build them into an object", strings.Join(groups[o], ", ")))
			continue
		}
		in2 := map[string]bool{}
		for _, f := range groups[o] {
			in2[f] = true
		}
		p := &patch.Patch{}
		if in.Rewritten.Mail != nil {
			m := *in.Rewritten.Mail
			m.Headers = append([]string(nil), m.Headers...)
			for k, h := range m.Headers {
				if strings.HasPrefix(strings.ToLower(h), "subject:") {
					m.Headers[k] = h + " (" + o + " part)"
				}
			}
			p.Mail = &m
		}
		for _, f := range in.Rewritten.Files {
			if in2[f.Path()] {
				p.Files = append(p.Files, f)
			}
		}
		name := fmt.Sprintf("%04d-%s.patch", i+1, o)
		path := filepath.Join(in.SplitDir, name)
		if err := fsutil.WriteFileAtomic(path, patch.Render(p, patch.RenderOptions{}), 0o644); err != nil {
			return c, nil, kperr.Diskf(err, "--split: cannot write %s", path)
		}
		out = append(out, Split{Object: o, File: path, Files: groups[o]})
		// applies and compiles on its own
		filesOf, _, err := applyPatch(env.Tree, p)
		if err != nil {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s: does not apply on its own: %v", name, err))
			continue
		}
		var srcs []string
		for _, f := range groups[o] {
			if strings.HasSuffix(f, ".c") {
				srcs = append(srcs, f)
			}
		}
		rs, err := comp.Compile(progress.Named(ctx, "split"), &build.Variant{Name: fmt.Sprintf("sp%02d", i), Files: filesOf}, srcs, build.Options{SyntaxOnly: true, MaxErrors: 5})
		if err != nil {
			return c, nil, err // the compiler or the work area failed
		}
		for _, d := range build.Failures(rs) {
			c.OK = false
			c.Details = append(c.Details, fmt.Sprintf("%s: %s", name, d))
		}
	}
	c.Summary = fmt.Sprintf("%d per-object patches written to %s", len(out), in.SplitDir)
	if c.OK {
		c.Summary += "; each applies and compiles on its own"
	}
	return c, out, nil
}
