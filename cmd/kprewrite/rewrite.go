package main

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/dialect"
	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/report"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/tree"
)

func rewriteCommand() *cli.Command {
	return &cli.Command{
		Name:      "rewrite",
		Usage:     "write the rewritten patch (and report every decision)",
		ArgsUsage: "PATCH",
		Description: "The rewritten patch goes to -o FILE (written atomically) or standard output; the report goes\n" +
			"to --report FILE or standard error. Exit status: 0 when the rewritten patch needs no engineer,\n" +
			"1 when findings remain, 2 for bad input, 3 when the compiler, make or the work area fails.\n" +
			"Example: kprewrite rewrite --tree linux-6.1 -o fix-lp.patch fix.patch",
		Flags: append(append(append(treeFlags(), formatFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the rewritten patch to `FILE`"},
			&cli.StringFlag{Name: "report", Usage: "write the report to `FILE` instead of standard error"},
			&cli.BoolFlag{Name: "verify", Usage: "then prove the result with 'kprewrite verify' against the input (needs a configured tree)"},
		), rewriteFlags()...), verifyFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return badInput("rewrite needs exactly one PATCH argument (use 'series' for several)")
			}
			if err := checkFormat(c); err != nil {
				return err
			}
			opt, env, err := optionsAndEnv(c)
			if err != nil {
				return err
			}
			set, err := readPatchFile(c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("verify") && len(set.Patches) != 1 {
				return badInput("--verify takes a file with one patch (%s holds %d)", set.Name, len(set.Patches))
			}
			if c.Bool("verify") && env.Config == nil {
				return badInput("--verify needs a configured tree: give --config")
			}
			r := report.New("rewrite", env)
			out, err := newSeries(env, opt).rewriteSet(set, r)
			if err != nil {
				return err
			}
			if ch, err := dialectOf(c, env); err == nil {
				r.Glue = &report.Glue{Dialect: ch.Name, Why: ch.Why, Used: dialect.UsesGlue(out)}
			}
			if err := emit(c.String("output"), out); err != nil {
				return err
			}
			if err := emitReport(c, r); err != nil {
				return err
			}
			needsHuman := r.NeedsHuman()
			if c.Bool("verify") && !bytes.Contains(out, []byte("\n+++ ")) {
				fmt.Fprintln(stderr, "kprewrite: the rewritten patch changes no file the config builds: nothing to verify or livepatch")
			} else if c.Bool("verify") {
				rw, err := patch.Read("rewritten", out, patch.Options{Strip: 1})
				if err != nil {
					return cli.Exit("error: the rewritten patch does not read back: "+oneLine(err.Error()), exitBadInput)
				}
				if len(rw.Patches) == 1 && len(rw.Patches[0].Files) > 0 {
					saved := stdout
					if c.String("output") == "" || c.String("output") == "-" {
						stdout = stderr // the patch is on standard output
					}
					err := runVerify(c, env, rw.Patches[0], set.Patches[0], r.Structs())
					stdout = saved
					if err != nil {
						return err
					}
				}
			}
			if needsHuman {
				return cli.Exit("", exitNeedsHuman)
			}
			return nil
		},
	}
}

// series carries the state of a patch series being rewritten: the tree as
// the upstream patches leave it, and as the rewritten ones leave it.
type series struct {
	env       *kbuild.Env
	opt       rewrite.Options
	upstream  *tree.Overlay     // tree + upstream patches so far
	rewritten map[string][]byte // post-images of the rewritten patches so far
	seen      map[string]bool   // findings already reported for an earlier patch
}

func newSeries(env *kbuild.Env, opt rewrite.Options) *series {
	return &series{env: env, opt: opt, upstream: tree.NewOverlay(env.Tree), rewritten: map[string][]byte{}, seen: map[string]bool{}}
}

// rewriteSet rewrites every patch of a set in order. Patch k is rewritten
// as part of the cumulative upstream change 1..k (so it may touch what an
// earlier patch changed, and shared rewrites stay consistent); what is
// written for it is the difference between the rewritten trees after k-1
// and after k, so the rewritten series applies in order on the tree.
func (sr *series) rewriteSet(set *patch.Set, r *report.Report) ([]byte, error) {
	var out bytes.Buffer
	for i, p := range set.Patches {
		res, err := p.Apply(sr.upstream)
		if err != nil {
			if i > 0 || len(sr.seen) > 0 {
				return nil, badInput("patch %d of %s does not apply on top of the patches before it: %v", i+1, set.Name, err)
			}
			return nil, badInput("%v", err)
		}
		for _, fr := range res {
			if fr.New == nil {
				sr.upstream.Delete(fr.Path)
			} else {
				sr.upstream.Set(fr.Path, fr.New)
			}
		}
		// The cumulative upstream change so far, as one patch on the tree.
		cum := &patch.Patch{Mail: p.Mail}
		for _, f := range sr.upstream.Changed() {
			var old []byte
			if sr.env.Tree.Exists(f) {
				old, _ = sr.env.Tree.ReadFile(f)
			}
			var nw []byte
			if !sr.upstream.Deleted(f) {
				nw, _ = sr.upstream.ReadFile(f)
			}
			if d := patch.Diff(f, old, nw); d != nil {
				cum.Files = append(cum.Files, d)
			}
		}
		s, err := session(sr.env, sr.env.Tree, cum, sr.opt)
		if err != nil {
			return nil, err
		}
		// Report what this patch brings: findings not reported before.
		fresh := &rewrite.Session{}
		*fresh = *s
		fresh.Patch = p
		fresh.Entries = nil
		for _, e := range s.Entries {
			key := e.File + "\x00" + string(e.Kind) + "\x00" + e.Subject
			if !sr.seen[key] {
				sr.seen[key] = true
				fresh.Entries = append(fresh.Entries, e)
			}
		}
		r.Add(set.Name, fresh)
		// This patch's part: rewritten tree after k-1 -> after k.
		op := &patch.Patch{Mail: p.Mail}
		files := map[string]bool{}
		for f := range sr.rewritten {
			files[f] = true
		}
		for _, f := range s.Touched() {
			files[f] = true
		}
		var names []string
		for f := range files {
			names = append(names, f)
		}
		sort.Strings(names)
		next := map[string][]byte{}
		for _, f := range names {
			now := s.File(f)
			if _, ok := s.Current[f]; !ok {
				now = s.Original(f)
			}
			before, ok := sr.rewritten[f]
			if !ok {
				before = s.Original(f)
			}
			next[f] = now
			if d := patch.Diff(f, before, now); d != nil {
				if before != nil {
					d.OldPath = f
				}
				op.Files = append(op.Files, d)
			}
		}
		sr.rewritten = next
		s.Close()
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n\n")) && p.Mail != nil {
			out.WriteString("\n")
		}
		out.Write(patch.Render(op, s.RenderOptions()))
	}
	return out.Bytes(), nil
}

// emit writes data to path atomically, or to standard output.
func emit(path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return badInput("%v", err)
	}
	return nil
}

func emitReport(c *cli.Context, r *report.Report) error {
	if p := c.String("report"); p != "" {
		var b bytes.Buffer
		if err := writeReport(c, &b, r); err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(p, b.Bytes(), 0o644); err != nil {
			return badInput("%v", err)
		}
		return nil
	}
	return writeReport(c, stderr, r)
}
