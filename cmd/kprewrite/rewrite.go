package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/dialect"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/report"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/series"
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
			if err := checkOutputs(c, []output{{flag: "-o", path: c.String("output")}, {flag: "--report", path: c.String("report")}}, []output{{flag: "--split", path: c.String("split"), empty: true}}); err != nil {
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
			if err := writeOutputs(c, c.String("output"), out, r); err != nil {
				return err
			}
			needsHuman := r.NeedsHuman()
			if c.Bool("verify") && !bytes.Contains(out, []byte("\n+++ ")) {
				fmt.Fprintln(c.App.ErrWriter, "kprewrite: the rewritten patch changes nothing: every change of the upstream patch is a no-op under this config (the report says why), so there is nothing to verify or livepatch")
			} else if c.Bool("verify") {
				rw, err := patch.Read("rewritten", out, patch.Options{Strip: 1})
				if err != nil {
					return failure(kperr.Internalf(err, "the rewritten patch does not read back (a kprewrite bug: please report it with the input patch)"))
				}
				if len(rw.Patches) == 1 && len(rw.Patches[0].Files) > 0 {
					saved := c.App.Writer
					if c.String("output") == "" || c.String("output") == "-" {
						c.App.Writer = c.App.ErrWriter // the patch is on standard output
					}
					err := runVerify(c, env, rw.Patches[0], set.Patches[0], r.Structs())
					c.App.Writer = saved
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

// seriesRun runs the library's series rewriter for a command: its
// findings go to the report, its errors become exit statuses.
type seriesRun struct {
	rw *series.Rewriter
}

func newSeries(env *kbuild.Env, opt rewrite.Options) *seriesRun {
	return &seriesRun{series.New(env, opt, registry)}
}

// rewriteSet rewrites every patch of a set in order (see package series).
func (sr *seriesRun) rewriteSet(set *patch.Set, r *report.Report) ([]byte, error) {
	out, err := sr.rw.RewriteSet(set, func(s *rewrite.Session) { r.Add(set.Name, s) })
	var in *series.InputError
	switch {
	case errors.As(err, &in):
		return nil, badInput("%v", in)
	case err != nil:
		return nil, failure(err)
	}
	return out, nil
}

// cumulative rewrites every patch of a set as the next cumulative
// livepatch of the series (see series.Rewriter.Cumulative).
func (sr *seriesRun) cumulative(set *patch.Set, r *report.Report) ([]*series.Step, error) {
	steps, err := sr.rw.Cumulative(set, func(s *rewrite.Session) { r.Add(set.Name, s) })
	var in *series.InputError
	var moved *series.MovedError
	switch {
	case errors.As(err, &in):
		return nil, badInput("%v", in)
	case errors.As(err, &moved):
		return nil, cli.Exit("error: "+moved.Error(), exitNeedsHuman)
	case err != nil:
		return nil, failure(err)
	}
	return steps, nil
}
