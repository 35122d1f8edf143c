// Command kprewrite turns an upstream Linux kernel patch into one that a
// livepatch builder (kpatch-build, klp-build) accepts, and explains every
// decision. See the README for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/kperr"
)

// Exit codes.
const (
	exitOK         = 0
	exitNeedsHuman = 1 // findings need an engineer, or verify failed
	exitBadInput   = 2 // bad input or usage
	exitFailure    = 3 // the environment (compiler, work area) or kprewrite itself failed
)

// stdin is where "-" reads a patch from.
var stdin io.Reader = os.Stdin

func main() {
	// SIGINT and SIGTERM cancel the context every make and gcc runs under:
	// they stop, and the run's scratch directories are removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args, printing to stdout and stderr (commands
// reach them through their context: c.App.Writer and c.App.ErrWriter), and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run under ctx: cancelling it stops every compile and make.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return guard(stderr, func() int { return runApp(ctx, args, stdout, stderr) })
}

// guard runs f and turns a panic in it into exit 3 with one line: a
// panic is a bug in kprewrite, never evidence about the patch, and Go's
// own exit status for it (2) would read as bad input. Deferred cleanups
// (scratch directories) have run by the time it is caught; no output
// file exists yet, since outputs are written whole at the end.
// KPREWRITE_DEBUG=1 adds the stack. A panic in another goroutine (the
// parallel compiles) is not caught here and still ends the process.
func guard(stderr io.Writer, f func() int) (code int) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		where := ""
		if file, line, ok := panicSite(); ok {
			where = fmt.Sprintf(" at %s:%d", filepath.Base(file), line)
		}
		fmt.Fprintf(stderr, "kprewrite: internal error%s: %s; this is a bug in kprewrite, not a finding about the patch: please report it with the patch and the command line\n", where, oneLine(fmt.Sprint(r)))
		if os.Getenv("KPREWRITE_DEBUG") == "1" {
			stderr.Write(debug.Stack())
		}
		code = exitFailure
	}()
	return f()
}

// panicSite returns the frame that panicked: the first caller below the
// runtime's panic machinery.
func panicSite() (string, int, bool) {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		fr, more := frames.Next()
		if !strings.HasPrefix(fr.Function, "runtime.") && fr.File != "" {
			return fr.File, fr.Line, true
		}
		if !more {
			return "", 0, false
		}
	}
}

func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out, errOut := &trackingWriter{w: stdout}, &trackingWriter{w: stderr}
	code := runCommand(ctx, args, out, errOut)
	// A report that could not be written is a failure of the disk (or the
	// pipe), whatever the command concluded: the user did not get it.
	for _, w := range []*trackingWriter{out, errOut} {
		if w.err != nil {
			fmt.Fprintf(stderr, "kprewrite: disk failure: cannot write %s: %v\n", map[bool]string{true: "standard output", false: "standard error"}[w == out], w.err)
			return kperr.ExitEnvironment
		}
	}
	return code
}

// trackingWriter remembers the first error of its writer.
type trackingWriter struct {
	w   io.Writer
	err error
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.w.Write(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp()
	app.Writer, app.ErrWriter = stdout, stderr
	if len(args) < 2 {
		// No command: the help goes to standard error, and it is an error.
		app.Writer = stderr
		app.Run(args)
		fmt.Fprintln(stderr, "kprewrite: error: no command given (see kprewrite --help)")
		return exitBadInput
	}
	if len(args) > 1 && args[1] != "" && args[1][0] != '-' && app.Command(args[1]) == nil {
		fmt.Fprintf(stderr, "kprewrite: error: unknown command %q (see kprewrite --help)\n", args[1])
		return exitBadInput
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(stderr, "kprewrite: "+msg)
		}
		return ec.ExitCode()
	}
	var ke *kperr.Error
	if errors.As(err, &ke) || ctx.Err() != nil {
		fmt.Fprintln(stderr, "kprewrite: "+kperr.Message(err))
		return kperr.ExitCode(err)
	}
	// what remains comes from the flag parser: usage
	fmt.Fprintln(stderr, "kprewrite: error: "+oneLine(err.Error()))
	return exitBadInput
}

// failure is the command-line error for err: exit 2 for bad input, 3 for
// a failure of the environment or of kprewrite itself, with one line that
// says what failed.
func failure(err error) error {
	return cli.Exit(kperr.Message(err), kperr.ExitCode(err))
}

func newApp() *cli.App {
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help"}
	app := &cli.App{
		Name:  "kprewrite",
		Usage: "rewrite an upstream kernel patch into one a livepatch builder accepts",
		Description: "kprewrite reads a patch and the kernel tree it applies to, finds what a livepatch cannot\n" +
			"carry (struct layout changes, header changes, static locals, __init code, ...), rewrites\n" +
			"what it can prove safe and reports every decision.",
		Version:         version(),
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		After:           endRun,
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return usageError("", "%v", err)
		},
		Commands: []*cli.Command{
			analyzeCommand(),
			rewriteCommand(),
			previewCommand(),
			seriesCommand(),
			verifyCommand(),
		},
	}
	usageChecks(app.Commands)
	return app
}

func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// version names the build: the module version, or the VCS revision the
// binary was built from (with "+dirty" for uncommitted changes), so a bug
// report can name the kprewrite that showed it.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case v != "" && v != "(devel)":
		return v
	case rev != "":
		return rev + dirty
	}
	return "devel"
}
