package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/kprewrite/kprewrite/internal/progress"
	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/kbuild"
)

// speedFlags are the flags of progress, timings and the result cache,
// shared by every command that reads a tree.
func speedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "show no progress on standard error"},
		&cli.BoolFlag{Name: "progress", Usage: "show progress on standard error also when it is not a terminal (kbuild-style lines)"},
		&cli.BoolFlag{Name: "timings", Usage: "print the time per phase on standard error at the end (and put it in the JSON reports)"},
		&cli.StringSliceFlag{Name: "cache-ro", EnvVars: []string{"KPREWRITE_CACHE_RO"}, Usage: "also read compile results from the shared cache `DIR` (a --cache directory of other runs; never written)"},
		&cli.BoolFlag{Name: "no-result-cache", EnvVars: []string{"KPREWRITE_NO_RESULT_CACHE"}, Usage: "neither read nor store compile results (DIR/results of --cache)"},
		&cli.StringFlag{Name: "result-cache-max", EnvVars: []string{"KPREWRITE_RESULT_CACHE_MAX"}, Value: "5G", Usage: "keep the stored compile results (DIR/results of --cache) to `SIZE` (bytes, or with K, M, G), dropping the least recently used; 0: unbounded"},
	}
}

// parseSize reads a size such as "5G", "500M", "64K" or "1048576".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("a size in bytes, or with K, M or G (5G, 500M)")
	}
	return n * mult, nil
}

// runState is what a command's run shares with the end of the run.
type runState struct {
	tracker *progress.Tracker
	cache   *rcache.Cache
	timings bool // --timings (read at the start: the app's After hook sees no command flags)
}

const stateKey = "kprewrite-run"

// startRun makes the run's progress tracker and result cache, and puts
// them in the command's context, which every compile and make runs under.
func startRun(c *cli.Context) {
	if _, ok := c.App.Metadata[stateKey]; ok {
		return
	}
	st := &runState{tracker: progress.New(c.App.ErrWriter, progress.ModeFor(c.App.ErrWriter, c.Bool("quiet"), c.Bool("progress"))),
		timings: c.Bool("timings")}
	ctx := progress.With(c.Context, st.tracker)
	if !c.Bool("no-result-cache") {
		dir := c.String("cache")
		if dir == "" {
			dir = kbuild.DefaultCacheDir()
		}
		var ro []string
		for _, d := range c.StringSlice("cache-ro") {
			ro = append(ro, rcache.DefaultDir(d))
		}
		st.cache = rcache.Open(rcache.DefaultDir(dir), ro)
		if n, err := parseSize(c.String("result-cache-max")); err == nil {
			st.cache.SetMax(n)
		}
		ctx = rcache.With(ctx, st.cache)
	}
	c.Context = ctx
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	c.App.Metadata[stateKey] = st
}

// phasesOf returns the phase times so far when --timings is given (they
// then go into the JSON reports), else nil: reports stay byte-identical
// from run to run.
func phasesOf(c *cli.Context) []progress.Phase {
	st, ok := c.App.Metadata[stateKey].(*runState)
	if !ok || !st.timings {
		return nil
	}
	return st.tracker.Phases()
}

// endRun stops the progress display and prints the timings asked for.
func endRun(c *cli.Context) error {
	st, ok := c.App.Metadata[stateKey].(*runState)
	if !ok {
		return nil
	}
	delete(c.App.Metadata, stateKey)
	st.tracker.Close()
	if st.timings {
		progress.WriteTimings(c.App.ErrWriter, st.tracker.Phases())
		if st.cache != nil {
			h, m, s := st.cache.Stats()
			fmt.Fprintf(c.App.ErrWriter, "kprewrite: result cache: %d hits, %d misses, %d stored\n", h, m, s)
		}
	}
	if st.cache.WriteFailed() {
		fmt.Fprintln(c.App.ErrWriter, "kprewrite: note: the result cache could not be written (see --cache); results were not stored, so the next run will not be faster")
	}
	return nil
}
