package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/report"
)

func previewCommand() *cli.Command {
	return &cli.Command{
		Name:      "preview",
		Usage:     "show how the rewrite changes the patch (a dry run: writes nothing)",
		ArgsUsage: "PATCH",
		Description: "Prints a diff from the input patch to the rewritten patch, in colour on a terminal.\n" +
			"Example: kprewrite preview --tree linux-6.1 fix.patch | less -R",
		Flags: append(append(treeFlags(),
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "colour the diff: auto, always or never"},
		), rewriteFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return badInput("preview needs exactly one PATCH argument")
			}
			opt, env, err := optionsAndEnv(c)
			if err != nil {
				return err
			}
			// Read once: standard input cannot be read twice.
			in, err := readPatchBytes(c.Args().First())
			if err != nil {
				return err
			}
			set, err := parsePatch(c.Args().First(), in)
			if err != nil {
				return err
			}
			r := report.New("preview", env)
			out, err := newSeries(env, opt).rewriteSet(set, r)
			if err != nil {
				return err
			}
			color := c.String("color") == "always" || c.String("color") == "auto" && isTerminal(c.App.Writer)
			d := patch.Diff(set.Name, in, out)
			if d == nil {
				io.WriteString(c.App.Writer, "kprewrite: the rewrite leaves the patch as it is\n")
				return nil
			}
			writeColored(c.App.Writer, previewText(set.Name, d), color)
			writeEdits(c.App.Writer, r)
			return nil
		},
	}
}

// previewText renders the diff from the input patch to the rewritten one,
// the sides labelled upstream/NAME and rewritten/NAME.
func previewText(name string, d *patch.File) string {
	text := patch.RenderFile(d)
	if i := strings.Index(text, "\n+++ "); i >= 0 {
		if j := strings.IndexByte(text[i+1:], '\n'); j >= 0 {
			text = text[i+1+j+1:] // the hunks, after git's a/ b/ header
		}
	}
	return "--- upstream/" + name + "\n+++ rewritten/" + name + "\n" + text
}

// writeEdits says, after the diff, which edits resolved which hazard.
func writeEdits(w io.Writer, r *report.Report) {
	for _, p := range r.Patches {
		for _, f := range p.Findings {
			if len(f.Edits) > 0 {
				fmt.Fprintf(w, "# %s (%s): %s\n", f.Subject, f.Transform, report.EditList(f.Edits))
			}
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeColored(w io.Writer, text string, color bool) {
	if !color {
		io.WriteString(w, text)
		return
	}
	for _, l := range strings.SplitAfter(text, "\n") {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"), strings.HasPrefix(l, "diff "):
			io.WriteString(w, "\x1b[1m"+strings.TrimSuffix(l, "\n")+"\x1b[0m\n")
		case strings.HasPrefix(l, "@@"):
			io.WriteString(w, "\x1b[36m"+strings.TrimSuffix(l, "\n")+"\x1b[0m\n")
		case strings.HasPrefix(l, "+"):
			io.WriteString(w, "\x1b[32m"+strings.TrimSuffix(l, "\n")+"\x1b[0m\n")
		case strings.HasPrefix(l, "-"):
			io.WriteString(w, "\x1b[31m"+strings.TrimSuffix(l, "\n")+"\x1b[0m\n")
		default:
			io.WriteString(w, l)
		}
	}
}
