package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/report"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/series"
	"github.com/kprewrite/kprewrite/tree"
)

func seriesCommand() *cli.Command {
	return &cli.Command{
		Name:      "series",
		Usage:     "rewrite a patch series: a quilt series file, a directory of numbered patches, or an mbox",
		ArgsUsage: "SERIES",
		Description: "Each patch is rewritten on top of the tree as modified by the rewritten patches before it,\n" +
			"and written to --out under the same name. Nothing is written unless every patch rewrites.\n" +
			"Example: kprewrite series --tree linux-6.1 --out lp/ patches/series",
		Flags: append(append(treeFlags(), formatFlag(),
			&cli.StringFlag{Name: "out", Usage: "directory `DIR` for the rewritten patches", Required: true},
			&cli.StringFlag{Name: "report", Usage: "write the report to `FILE` instead of standard error"},
			&cli.BoolFlag{Name: "cumulative", Usage: "write cumulative livepatches instead: cumulative-NN.patch holds patches 1..NN rewritten against the tree, and replaces cumulative-(NN-1) over live objects"},
			&cli.BoolFlag{Name: "verify", Usage: "with --cumulative: then prove each cumulative patch with 'kprewrite verify' against the upstream patches it holds (needs a configured tree)"},
		), append(rewriteFlags(), verifyFlags()...)...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return badInput("series needs exactly one SERIES argument")
			}
			if err := checkFormat(c); err != nil {
				return err
			}
			opt, err := options(c)
			if err != nil {
				return err
			}
			names, err := seriesMembers(c.Args().First())
			if err != nil {
				return err
			}
			if err := checkOutputs(c, []output{{flag: "--report", path: c.String("report")}}, []output{{flag: "--out", path: c.String("out"), empty: true}}); err != nil {
				return err
			}
			if c.Bool("verify") && !c.Bool("cumulative") {
				return badInput("--verify takes --cumulative (each cumulative patch is a whole patch on the tree); verify the patches of a plain series with 'kprewrite verify' on the tree as the earlier ones leave it")
			}
			env, err := openEnv(c)
			if err != nil {
				return err
			}
			ch, err := dialectOf(c, env) // --dialect auto: the tree's builder
			if err != nil {
				return err
			}
			opt.Dialect = ch.Name
			if c.Bool("verify") && env.Config == nil {
				return badInput("--verify needs a configured tree: give --config")
			}
			r := report.New("series", env)
			if c.Bool("cumulative") {
				return writeCumulative(c, env, opt, names, r)
			}
			sr := newSeries(env, opt)
			outputs := map[string][]byte{}
			var order []string
			for _, name := range names {
				set, err := readPatchFile(name)
				if err != nil {
					return namePatch(name, err)
				}
				out, err := sr.rewriteSet(set, r)
				if err != nil {
					return namePatch(name, err)
				}
				outputs[filepath.Base(name)] = out
				order = append(order, filepath.Base(name))
			}
			if err := writeSeries(c, order, outputs, r); err != nil {
				return err
			}
			if r.NeedsHuman() {
				return cli.Exit("", exitNeedsHuman)
			}
			return nil
		},
	}
}

// writeSeries writes the rewritten patches (and a new series file when the
// input was one, and the report when --report names a file) to --out all
// or nothing: everything is staged inside --out and renamed into place only
// when all of it is written; on any error (or a cancelled context) nothing
// is left, not even an --out directory this run created.
func writeSeries(c *cli.Context, order []string, outputs map[string][]byte, r *report.Report) (err error) {
	dir := c.String("out")
	undo, err := makeOutDir(dir)
	if err != nil {
		return err
	}
	st := fsutil.NewStage(c.Context)
	defer func() {
		st.Abort()
		if err != nil {
			undo()
		}
	}()
	for _, n := range order {
		if err := st.Add(filepath.Join(dir, n), outputs[n], 0o644); err != nil {
			return badInput("%v", err)
		}
	}
	if fi, err := os.Stat(c.Args().First()); err == nil && !fi.IsDir() && filepath.Base(c.Args().First()) == "series" && !c.Bool("cumulative") {
		var b bytes.Buffer
		for _, n := range order {
			b.WriteString(n + "\n")
		}
		if err := st.Add(filepath.Join(dir, "series"), b.Bytes(), 0o644); err != nil {
			return badInput("%v", err)
		}
	}
	if err := stageReport(c, st, r); err != nil {
		return err
	}
	return commitOutputs(c, st, r)
}

// writeCumulative rewrites the series as cumulative livepatches, writes
// them to --out as cumulative-NN.patch, and with --verify proves each
// against the upstream patches it holds.
func writeCumulative(c *cli.Context, env *kbuild.Env, opt rewrite.Options, names []string, r *report.Report) error {
	sr := newSeries(env, opt)
	outputs := map[string][]byte{}
	var order []string
	var steps []*series.Step
	for _, name := range names {
		set, err := readPatchFile(name)
		if err != nil {
			return namePatch(name, err)
		}
		st, err := sr.cumulative(set, r)
		if err != nil {
			return namePatch(name, err)
		}
		for _, s := range st {
			n := fmt.Sprintf("cumulative-%02d.patch", s.N)
			outputs[n] = s.Text
			order = append(order, n)
		}
		steps = append(steps, st...)
	}
	if err := writeSeries(c, order, outputs, r); err != nil {
		return err
	}
	needsHuman := r.NeedsHuman()
	if c.Bool("verify") {
		for i, st := range steps {
			rw, err := patch.Read(order[i], st.Text, patch.Options{Strip: 1})
			if err != nil || len(rw.Patches) != 1 || len(rw.Patches[0].Files) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "kprewrite: %s changes no file: nothing to verify\n", order[i])
				continue
			}
			fmt.Fprintf(c.App.Writer, "kprewrite: verifying %s (patches 1-%d)\n", order[i], st.N)
			err = runVerify(c, env, rw.Patches[0], st.Upstream, r.Structs())
			var ec cli.ExitCoder
			switch {
			case errors.As(err, &ec) && ec.ExitCode() == exitNeedsHuman:
				needsHuman = true
			case err != nil:
				return err
			}
		}
	}
	if needsHuman {
		return cli.Exit("", exitNeedsHuman)
	}
	return nil
}

// seriesMembers lists the patch files of a series argument, in order.
func seriesMembers(arg string) ([]string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, badInput("%v", err)
	}
	if st.IsDir() {
		var out []string
		ents, err := os.ReadDir(arg)
		if err != nil {
			return nil, badInput("%v", err)
		}
		for _, e := range ents {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".patch") || strings.HasSuffix(n, ".diff")) {
				out = append(out, filepath.Join(arg, n))
			}
		}
		sort.Strings(out)
		if len(out) == 0 {
			return nil, badInput("%s holds no .patch or .diff files", arg)
		}
		return out, nil
	}
	if filepath.Base(arg) == "series" {
		f, err := os.Open(arg)
		if err != nil {
			return nil, badInput("%v", err)
		}
		defer f.Close()
		var out []string
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n++
			line := strings.TrimSpace(sc.Text())
			if i := strings.Index(line, "#"); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
			if line == "" {
				continue
			}
			fields := strings.Fields(line)
			for _, opt := range fields[1:] {
				if opt != "-p1" {
					return nil, badInput("%s:%d: option %s is not supported (kprewrite reads -p1 patches)", arg, n, opt)
				}
			}
			p, err := tree.CleanRel(fields[0])
			if err != nil {
				return nil, badInput("%s:%d: %v", arg, n, err)
			}
			out = append(out, filepath.Join(filepath.Dir(arg), p))
		}
		if err := sc.Err(); err != nil {
			return nil, badInput("cannot read %s: %v", arg, err)
		}
		if len(out) == 0 {
			return nil, badInput("%s lists no patches", arg)
		}
		// Each output is written under its member's base name.
		byBase := map[string]string{}
		for _, m := range out {
			b := filepath.Base(m)
			if prev, ok := byBase[b]; ok {
				return nil, badInput("%s lists %s and %s, which have the same name %s: the rewritten patches would overwrite each other in --out; rename one", arg, prev, m, b)
			}
			byBase[b] = m
		}
		return out, nil
	}
	// A single file: an mbox or one patch, written back under its own name.
	return []string{arg}, nil
}
