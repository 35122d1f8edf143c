package main

import (
	"bytes"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/dialect"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/verify"
)

func verifyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "split", Usage: "also write one patch per object (vmlinux, each module) to `DIR`"},
	}
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "compile and prove a (rewritten) patch safe on the real configured tree",
		ArgsUsage: "PATCH",
		Description: "Checks that PATCH applies, compiles with kbuild's flags, changes no struct layout (DWARF),\n" +
			"changes no header, changes every function the upstream patch (--original) changes, and adds\n" +
			"no checkpatch errors. Exit status: 0 when every check passes, 1 when one fails, 2 for bad input,\n" +
			"3 when the compiler, make or the work area fails.\n" +
			"Example: kprewrite verify --tree linux-6.1 --config build/.config --original fix.patch fix-lp.patch",
		Flags: append(append(treeFlags(), formatFlag(),
			&cli.StringFlag{Name: "original", Usage: "the upstream `PATCH` the rewritten one came from"},
			dialectFlag(),
		), verifyFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return badInput("verify needs exactly one PATCH argument")
			}
			if err := checkFormat(c); err != nil {
				return err
			}
			if err := checkOutputs(c, nil, []output{{flag: "--split", path: c.String("split"), empty: true}}); err != nil {
				return err
			}
			env, err := openEnv(c)
			if err != nil {
				return err
			}
			var orig *patch.Patch
			if o := c.String("original"); o != "" {
				if orig, err = onePatch(o); err != nil {
					return err
				}
			}
			var rw *patch.Patch
			if orig != nil && emptyFile(c.Args().First()) {
				// rewrite dropped every change: that is a claim to check
				// against the upstream patch, not bad input
				rw = &patch.Patch{}
			} else if rw, err = onePatch(c.Args().First()); err != nil {
				return err
			}
			return runVerify(c, env, rw, orig, nil)
		},
	}
}

// emptyFile reports whether name is a regular file holding nothing but
// white space (what rewrite writes when every change is dropped).
func emptyFile(name string) bool {
	st, err := os.Stat(name)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 4096 {
		return false
	}
	data, err := os.ReadFile(name)
	return err == nil && len(bytes.TrimSpace(data)) == 0
}

// onePatch reads a file that must hold exactly one patch.
func onePatch(name string) (*patch.Patch, error) {
	set, err := readPatchFile(name)
	if err != nil {
		return nil, err
	}
	if len(set.Patches) != 1 {
		return nil, badInput("%s holds %d patches; verify takes one (squash the series first)", name, len(set.Patches))
	}
	return set.Patches[0], nil
}

func runVerify(c *cli.Context, env *kbuild.Env, rw, orig *patch.Patch, structs []string) error {
	if env.Config == nil {
		return badInput("verify needs a configured tree: give --config (the .config of the kernel you livepatch)")
	}
	ch, err := dialectOf(c, env)
	if err != nil {
		return err
	}
	rep, err := verify.Run(c.Context, verify.Input{
		Env: env, Rewritten: rw, Original: orig, Structs: structs, Dialect: ch.Name, KpatchSrc: dialect.KpatchSource(),
		SplitDir: c.String("split"), Jobs: c.Int("jobs"), Log: c.App.ErrWriter,
	})
	if err != nil {
		return failure(err)
	}
	if c.String("format") == "json" {
		rep.Timings = phasesOf(c)
		if err := rep.WriteJSON(c.App.Writer); err != nil {
			return err
		}
	} else {
		rep.WriteText(c.App.Writer)
	}
	if !rep.OK {
		return cli.Exit("", exitNeedsHuman)
	}
	return nil
}
