package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/report"
)

// output is a file a command will write, with the flag that names it.
type output struct {
	flag, path string
	empty      bool // a directory that must be new or empty (--split)
}

// checkOutputs refuses, before any work, outputs that kprewrite must not
// write: anything inside the tree (the tree is never written), a symbolic
// link, a device, FIFO or other file that is not regular, and two outputs
// that name one file. An output with an empty path (or "-") is standard
// output and needs no check. dirs are flags naming a directory to write
// into (--out): they may exist only as directories.
func checkOutputs(c *cli.Context, outs []output, dirs []output) error {
	treeDir := c.String("tree")
	resolved := map[string]string{}
	for _, o := range append(append([]output{}, dirs...), outs...) {
		if o.path == "" || o.path == "-" {
			continue
		}
		in, err := fsutil.Within(treeDir, o.path)
		if err != nil {
			return badInput("%s %s: %v", o.flag, o.path, err)
		}
		if in {
			return badInput("%s %s is inside the tree %s, which kprewrite never writes: write it elsewhere", o.flag, o.path, treeDir)
		}
		r, err := fsutil.Resolve(o.path)
		if err != nil {
			return badInput("%s %s: %v", o.flag, o.path, err)
		}
		if prev, ok := resolved[r]; ok {
			return badInput("%s and %s both name %s: give each its own file", prev, o.flag, o.path)
		}
		resolved[r] = o.flag
	}
	for _, o := range outs {
		if o.path == "" || o.path == "-" {
			continue
		}
		if err := fsutil.CheckWritable(o.path); err != nil {
			return badInput("%s: %v", o.flag, err)
		}
		if st, err := os.Stat(filepath.Dir(o.path)); err != nil || !st.IsDir() {
			return badInput("%s %s: its directory %s does not exist: create it first", o.flag, o.path, filepath.Dir(o.path))
		}
	}
	for _, d := range dirs {
		if d.path == "" {
			continue
		}
		if st, err := os.Stat(d.path); err == nil && !st.IsDir() {
			return badInput("%s %s exists and is not a directory: name a directory for the outputs", d.flag, d.path)
		}
		if d.empty {
			if ents, err := os.ReadDir(d.path); err == nil && len(ents) > 0 {
				return badInput("%s %s is not empty: give a new or empty directory (files of an earlier run would mix with these)", d.flag, d.path)
			}
		}
	}
	return nil
}

// reportBytes renders the report as the flags ask.
func reportBytes(c *cli.Context, r *report.Report) ([]byte, error) {
	var b bytes.Buffer
	if err := writeReport(c, &b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeOutputs writes the rewritten patch (to path, or standard output if
// path is "" or "-") and the report (to --report, or standard error) all or
// nothing: the files are staged and renamed into place only when both are
// written, so a failure leaves neither behind.
func writeOutputs(c *cli.Context, path string, data []byte, r *report.Report) error {
	st := fsutil.NewStage(c.Context)
	defer st.Abort()
	toStdout := path == "" || path == "-"
	if !toStdout {
		if err := st.Add(path, data, 0o644); err != nil {
			return badInput("%v", err)
		}
	}
	if err := stageReport(c, st, r); err != nil {
		return err
	}
	if toStdout {
		if _, err := c.App.Writer.Write(data); err != nil {
			return err
		}
	}
	return commitOutputs(c, st, r)
}

// commitOutputs renames the staged outputs into place, then writes the
// report to standard error when no --report file took it.
func commitOutputs(c *cli.Context, st *fsutil.Stage, r *report.Report) error {
	if err := st.Commit(); err != nil {
		if kperr.IsEnvironment(err) {
			return err // the disk, not the input: exit 3
		}
		return badInput("%v", err)
	}
	if c.String("report") == "" {
		return writeReport(c, c.App.ErrWriter, r)
	}
	return nil
}

// stageReport stages the report for --report, if given.
func stageReport(c *cli.Context, st *fsutil.Stage, r *report.Report) error {
	p := c.String("report")
	if p == "" {
		return nil
	}
	b, err := reportBytes(c, r)
	if err != nil {
		return err
	}
	if err := st.Add(p, b, 0o644); err != nil {
		return badInput("--report: %v", err)
	}
	return nil
}

// makeOutDir creates dir (and missing parents) and returns a function that
// removes what it created, if it is still empty.
func makeOutDir(dir string) (undo func(), err error) {
	var created []string
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			break
		}
		created = append(created, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() {}, badInput("cannot create --out %s: %v", dir, err)
	}
	return func() {
		for _, p := range created { // deepest first
			os.Remove(p)
		}
	}, nil
}

// namePatch makes the error about one member of a series name its file.
func namePatch(name string, err error) error {
	var ec cli.ExitCoder
	if !errors.As(err, &ec) {
		return err
	}
	rest, ok := strings.CutPrefix(ec.Error(), "error: ")
	if !ok {
		return err
	}
	base := filepath.Base(name)
	switch {
	case strings.HasPrefix(rest, base+":"):
		rest = name + rest[len(base):]
	case !strings.Contains(rest, base):
		rest = name + ": " + rest
	default:
		return err
	}
	return cli.Exit("error: "+rest, ec.ExitCode())
}
