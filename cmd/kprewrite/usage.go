package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// usageError is a usage mistake: one line on standard error that names the
// help to read, exit status 2. Help text never goes to standard output on
// an error, where it would end up in a redirected output file.
func usageError(cmd, format string, args ...any) error {
	help := "kprewrite --help"
	if cmd != "" {
		help = "kprewrite " + cmd + " --help"
	}
	return cli.Exit("error: "+oneLine(fmt.Sprintf(format, args...))+" (see "+help+")", exitBadInput)
}

// usageChecks makes the commands report usage errors with usageError:
// unknown flags and unparsable values, missing required flags (checked by
// kprewrite, since the cli library prints the whole help to standard output
// for those) and flag values out of range (checkFlagValues), all before any
// tree or patch is read.
func usageChecks(cmds []*cli.Command) {
	for _, cmd := range cmds {
		var required []string
		for _, f := range cmd.Flags {
			if sf, ok := f.(*cli.StringFlag); ok && sf.Required {
				sf.Required = false
				required = append(required, sf.Name)
			}
		}
		name := cmd.Name
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return usageError(name, "%v", err)
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			for _, r := range required {
				if !c.IsSet(r) || c.String(r) == "" {
					return usageError(name, "--%s is required", r)
				}
			}
			if err := checkFlagValues(c, name); err != nil {
				return err
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
}

// checkFlagValues refuses values out of range for the flags a command has.
func checkFlagValues(c *cli.Context, cmd string) error {
	has := func(name string) bool {
		for _, f := range c.Command.Flags {
			if slices.Contains(f.Names(), name) {
				return true
			}
		}
		return false
	}
	if has("color") {
		switch v := c.String("color"); v {
		case "auto", "always", "never":
		default:
			return usageError(cmd, "--color must be auto, always or never, not %q", v)
		}
	}
	if has("max-users") && c.Int("max-users") < 0 {
		return usageError(cmd, "--max-users must be 0 (no limit) or more, not %d", c.Int("max-users"))
	}
	if has("jobs") && c.Int("jobs") < 1 {
		return usageError(cmd, "--jobs must be 1 or more, not %d", c.Int("jobs"))
	}
	return nil
}
