package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/report"
	"github.com/kprewrite/kprewrite/tree"
)

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Usage:     "report every livepatch hazard in a patch, and what kprewrite would do about it",
		ArgsUsage: "PATCH...",
		Description: "Exit status: 0 when nothing needs an engineer, 1 when a finding does, 2 for bad input.\n" +
			"Example: kprewrite analyze --tree linux-6.1 --config build/.config fix.patch",
		Flags: append(append(treeFlags(), formatFlag()), rewriteFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return badInput("analyze needs at least one PATCH argument")
			}
			if err := checkFormat(c); err != nil {
				return err
			}
			opt, env, err := optionsAndEnv(c)
			if err != nil {
				return err
			}
			r := report.New("analyze", env)
			for _, arg := range c.Args().Slice() {
				set, err := readPatchFile(arg)
				if err != nil {
					return err
				}
				base := tree.NewOverlay(env.Tree)
				for _, p := range set.Patches {
					s, err := session(env, base, p, opt)
					if err != nil {
						return err
					}
					r.Add(set.Name, s)
					s.Close()
					// later patches of a file apply on top of the earlier ones
					for path, data := range s.Upstream {
						if data == nil {
							base.Delete(path)
						} else {
							base.Set(path, data)
						}
					}
				}
			}
			if err := writeReport(c, c.App.Writer, r); err != nil {
				return err
			}
			if r.NeedsHuman() {
				return cli.Exit("", exitNeedsHuman)
			}
			return nil
		},
	}
}
