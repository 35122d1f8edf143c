package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/dialect"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/report"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/transforms"
	"github.com/kprewrite/kprewrite/tree"
)

// registry is the transforms the commands run, in order.
var registry = transforms.All()

// treeFlags are the flags of every command that reads a tree.
func treeFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "tree", Usage: "kernel source `DIR` the patch applies to (never modified)", Required: true},
		&cli.StringFlag{Name: "config", Usage: "kernel config `FILE` (default DIR/.config); in an O= build dir, that build's generated files are used"},
		&cli.StringFlag{Name: "cache", Usage: "work area `DIR` for builds (default $KPREWRITE_CACHE or ~/.cache/kprewrite)"},
		&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: kbuild.DefaultJobs(), EnvVars: []string{"KPREWRITE_JOBS"}, Usage: "`N` parallel compiles (default: the number of CPUs)"},
	}, speedFlags()...)
}

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: "text", Usage: "report format: text or json"}
}

func rewriteFlags() []cli.Flag {
	return []cli.Flag{
		dialectFlag(),
		&cli.StringFlag{Name: "strategy", Value: "auto", Usage: "for new struct members: auto (" + strings.Join(transforms.Strategies(), ", ") + " in that order) or one of them"},
		&cli.IntFlag{Name: "max-users", Value: 64, Usage: "refuse to move a header definition that more than `N` .c files use"},
		&cli.StringSliceFlag{Name: "shadow-id", Usage: "shadow id of a member, as `\"struct X.member=ID\"` (default: derived from the names)"},
		&cli.StringSliceFlag{Name: "existing", Usage: "the engineer's decision of what objects created before the livepatch read in a new member, as `\"struct X.member=EXPR\"` (EXPR in C over the object, named s); the report marks it a decision, not a proof"},
	}
}

func dialectFlag() cli.Flag {
	return &cli.StringFlag{Name: "dialect", Value: "auto", Usage: "livepatch glue: auto (klp when the tree has scripts/livepatch/klp-build, else kpatch), klp (the kernel's livepatch_helpers.h, klp-build) or kpatch (kpatch-macros.h, kpatch-build)"}
}

// dialectOf resolves --dialect for the tree.
func dialectOf(c *cli.Context, env *kbuild.Env) (dialect.Choice, error) {
	ch, err := dialect.Choose(c.String("dialect"), env.Tree)
	if err != nil {
		return ch, badInput("%v", err)
	}
	return ch, nil
}

func badInput(format string, args ...any) error {
	return cli.Exit("error: "+oneLine(fmt.Sprintf(format, args...)), exitBadInput)
}

// openEnv opens the tree and config named by the flags. A command that
// compiles checks the work area first.
func openEnv(c *cli.Context) (*kbuild.Env, error) {
	if c.Int("jobs") < 1 {
		return nil, badInput("--jobs must be 1 or more, not %d", c.Int("jobs"))
	}
	if _, err := parseSize(c.String("result-cache-max")); err != nil {
		return nil, badInput("--result-cache-max %q: %v", c.String("result-cache-max"), err)
	}
	startRun(c)
	env, err := kbuild.Open(c.String("tree"), c.String("config"), kbuild.Options{CacheDir: c.String("cache"), Log: c.App.ErrWriter,
		Context: c.Context, Jobs: c.Int("jobs")})
	if err != nil {
		return nil, badInput("%v", err)
	}
	if env.Config != nil && c.Command.Name != "analyze" {
		if err := env.CheckWorkArea(); err != nil {
			return nil, failure(err)
		}
	}
	return env, nil
}

func checkFormat(c *cli.Context) error {
	switch c.String("format") {
	case "text", "json":
		return nil
	}
	return badInput("--format must be text or json, not %q", c.String("format"))
}

func options(c *cli.Context) (rewrite.Options, error) {
	o := rewrite.Options{Dialect: c.String("dialect"), Strategy: c.String("strategy"), MaxUsers: c.Int("max-users")}
	switch o.Dialect {
	case dialect.Auto, dialect.KLP, dialect.Kpatch:
	default:
		return o, badInput("--dialect must be auto, klp or kpatch, not %q", o.Dialect)
	}
	if names := transforms.Strategies(); o.Strategy != "auto" && !slices.Contains(names, o.Strategy) {
		return o, badInput("--strategy must be auto, %s or %s, not %q", strings.Join(names[:len(names)-1], ", "), names[len(names)-1], o.Strategy)
	}
	if o.Strategy == "auto" {
		o.Strategy = ""
	}
	for _, kv := range c.StringSlice("shadow-id") {
		k, v, ok := strings.Cut(kv, "=")
		id, err := strconv.ParseUint(strings.TrimSpace(v), 0, 64)
		if !ok || err != nil || !strings.Contains(k, ".") {
			return o, badInput("--shadow-id wants \"struct X.member=ID\", not %q", kv)
		}
		if o.ShadowIDs == nil {
			o.ShadowIDs = map[string]uint64{}
		}
		for other, v := range o.ShadowIDs {
			if v == id && other != strings.TrimSpace(k) {
				return o, badInput("--shadow-id: %s and %s both take id %#x: give each member its own", other, strings.TrimSpace(k), id)
			}
		}
		o.ShadowIDs[strings.TrimSpace(k)] = id
	}
	for _, kv := range c.StringSlice("existing") {
		k, v, err := parseExisting(kv)
		if err != nil {
			return o, err
		}
		if o.Existing == nil {
			o.Existing = map[string]string{}
		}
		o.Existing[k] = v
	}
	return o, nil
}

// existingKeyRE is the member an --existing decision names.
var existingKeyRE = regexp.MustCompile(`^(struct|union) [A-Za-z_]\w*\.[A-Za-z_]\w*$`)

// parseExisting reads an --existing decision: "struct X.member=EXPR",
// EXPR one C expression (checked here for what would break the generated
// getter; the compiler checks the rest when the patch is verified).
func parseExisting(kv string) (string, string, error) {
	k, v, ok := strings.Cut(kv, "=")
	k, v = strings.Join(strings.Fields(k), " "), strings.TrimSpace(v)
	if !ok || !existingKeyRE.MatchString(k) || v == "" {
		return "", "", badInput("--existing wants \"struct X.member=EXPR\" (EXPR: what objects created before the livepatch read, in C over the object s), not %q", kv)
	}
	depth := 0
	for _, r := range v {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ';', '{', '}', '\n':
			depth = -1
		}
		if depth < 0 {
			break
		}
	}
	if depth != 0 {
		return "", "", badInput("--existing %s: %q is not one C expression (unbalanced parentheses, or a ';', '{', '}' or newline)", k, v)
	}
	return k, v, nil
}

// readPatchFile reads and parses one patch argument ("-" is stdin).
func readPatchFile(name string) (*patch.Set, error) {
	data, err := readPatchBytes(name)
	if err != nil {
		return nil, err
	}
	return parsePatch(name, data)
}

// parsePatch parses the bytes read from one patch argument ("-" is stdin).
func parsePatch(name string, data []byte) (*patch.Set, error) {
	if name == "-" {
		name = "<stdin>"
	}
	set, err := patch.Read(filepath.Base(name), data, patch.Options{Strip: -1})
	if err != nil {
		return nil, badInput("%v", err)
	}
	return set, nil
}

// readPatchBytes reads one patch argument ("-" is stdin), at most
// patch.MaxSize bytes: a larger input, or a device that never ends, is
// refused without reading it all.
func readPatchBytes(name string) ([]byte, error) {
	tooBig := func(what string) error {
		return badInput("%s is larger than %d MiB, the most kprewrite reads as a patch: give a single patch or series, not an archive or a device", what, patch.MaxSize>>20)
	}
	r, what := stdin, "standard input"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, badInput("%v", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, badInput("%v", err)
		}
		switch m := st.Mode(); {
		case m.IsDir():
			return nil, badInput("%s is a directory: give a patch file (or use 'series' for a directory of patches)", name)
		case m&(os.ModeDevice|os.ModeCharDevice|os.ModeSocket|os.ModeIrregular) != 0:
			return nil, badInput("%s is not a regular file: give a patch file, or '-' for standard input", name)
		case m.IsRegular() && st.Size() > patch.MaxSize:
			return nil, tooBig(name)
		}
		r, what = f, name // a regular file or a pipe: read with the limit
	}
	data, err := io.ReadAll(io.LimitReader(r, patch.MaxSize+1))
	if err != nil {
		return nil, badInput("cannot read %s: %v", what, err)
	}
	if len(data) > patch.MaxSize {
		return nil, tooBig(what)
	}
	return data, nil
}

// session loads one patch against base and runs the transforms.
func session(env *kbuild.Env, base tree.FS, p *patch.Patch, opt rewrite.Options) (*rewrite.Session, error) {
	s, err := rewrite.Load(env, base, p, opt)
	if err != nil {
		return nil, badInput("%v", err)
	}
	if err := s.Run(registry); err != nil {
		s.Close()
		return nil, failure(err)
	}
	return s, nil
}

func writeReport(c *cli.Context, w io.Writer, r *report.Report) error {
	if c.String("format") == "json" {
		r.Timings = phasesOf(c)
		return r.WriteJSON(w)
	}
	r.WriteText(w)
	return nil
}

// optionsAndEnv checks the rewrite flags, then opens the tree and config:
// a bad flag is reported before any tree is read.
func optionsAndEnv(c *cli.Context) (rewrite.Options, *kbuild.Env, error) {
	opt, err := options(c)
	if err != nil {
		return opt, nil, err
	}
	env, err := openEnv(c)
	if err != nil {
		return opt, nil, err
	}
	ch, err := dialectOf(c, env)
	opt.Dialect = ch.Name
	return opt, env, err
}
