package main

import (
	"bytes"

	"github.com/urfave/cli/v2"

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
			"1 when findings remain, 2 for bad input.\n" +
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
			opt, err := options(c)
			if err != nil {
				return err
			}
			env, err := openEnv(c)
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
			out, err := rewriteSet(env, tree.NewOverlay(env.Tree), set, opt, r)
			if err != nil {
				return err
			}
			if err := emit(c.String("output"), out); err != nil {
				return err
			}
			if err := emitReport(c, r); err != nil {
				return err
			}
			needsHuman := r.NeedsHuman()
			if c.Bool("verify") {
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

// rewriteSet rewrites every patch of a set in order; each one is rewritten
// on top of base as modified by the rewritten patches before it. base is
// updated to the final state.
func rewriteSet(env *kbuild.Env, base *tree.Overlay, set *patch.Set, opt rewrite.Options, r *report.Report) ([]byte, error) {
	var out bytes.Buffer
	for i, p := range set.Patches {
		s, err := session(env, base, p, opt)
		if err != nil {
			if i > 0 {
				return nil, badInput("patch %d of %s: %v (it may touch what an earlier patch's rewrite changed: rewrite the series as one patch)", i+1, set.Name, err)
			}
			return nil, err
		}
		r.Add(set.Name, s)
		op := s.Output()
		if i > 0 && out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n\n")) && p.Mail != nil {
			out.WriteString("\n")
		}
		out.Write(patch.Render(op, s.RenderOptions()))
		for path, data := range s.Current {
			if data == nil {
				base.Delete(path)
			} else {
				base.Set(path, data)
			}
		}
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
