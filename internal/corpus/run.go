package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The classes a case ends in.
const (
	classProven   = "proven"    // rewrite exit 0, verify passes
	classRefused  = "refused"   // rewrite exit 1: a finding needs an engineer
	classUnproven = "unproven"  // rewrite exit 0, verify fails a check other than apply, compile and layout
	classUnsafe   = "unsafe"    // rewrite exit 0, verify's layout check fails
	classBroken   = "broken"    // crash, exit 2 on a valid patch, rewritten patch does not apply or compile
	classNoOp     = "no-op"     // rewrite exit 0 with an empty patch: every change proven a no-op under the config
	classNotBuilt = "not-built" // the config builds none of the files the rewritten patch changes
	classTimeout  = "timeout"   // rewrite or verify ran past the per-case limit
)

var classes = []string{classProven, classNoOp, classRefused, classUnproven, classUnsafe, classBroken, classNotBuilt, classTimeout}

// Result is what one case came to; it is cached as result.json.
type Result struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Subject string  `json:"subject"`
	Class   string  `json:"class"`
	Reason  string  `json:"reason,omitempty"`
	Seconds float64 `json:"seconds"`
	// Decisions are the manifest's engineer decisions for the case; when
	// the case is refused, a second run in the directory "decided" gives
	// them to rewrite, and Decided and DecidedReason classify that run.
	Decisions     []string `json:"decisions,omitempty"`
	Decided       string   `json:"decided,omitempty"`
	DecidedReason string   `json:"decided_reason,omitempty"`
}

func runMain(args []string) int {
	fs := flag.NewFlagSet("corpus run", flag.ExitOnError)
	cases := fs.String("cases", "", "directory of ID.patch files and index.tsv (corpus split -out)")
	bin := fs.String("kprewrite", "", "the kprewrite binary")
	tree := fs.String("tree", "", "the base kernel tree")
	config := fs.String("config", "", "the .config of the prepared O= build")
	results := fs.String("results", "", "cache directory for per-case results")
	timeout := fs.Duration("timeout", 15*time.Minute, "limit for each of rewrite and verify, per case")
	cachedOnly := fs.Bool("cached", false, "run nothing: tabulate the cached results only")
	only := fs.String("only", "", "comma-separated case ids to run (default: all)")
	out := fs.String("o", "", "also write the markdown table into this file, between its "+beginMark+" and "+endMark+" lines (the whole file if it has none)")
	fs.Parse(args)
	if *cases == "" || *bin == "" || *tree == "" || *config == "" || *results == "" {
		fmt.Fprintln(os.Stderr, "corpus run: give -cases, -kprewrite, -tree, -config and -results (scripts/corpus-run.sh does)")
		return 2
	}
	index, err := readIndex(filepath.Join(*cases, "index.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus run:", err, "(run scripts/corpus.sh first)")
		return 2
	}
	want := map[string]bool{}
	for _, id := range strings.Split(*only, ",") {
		if id != "" {
			want[id] = true
		}
	}
	binSum, err := fileSum(*bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus run:", err)
		return 2
	}
	cfgSum, err := fileSum(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus run:", err)
		return 2
	}
	var all []Result
	for _, c := range index {
		patchPath := filepath.Join(*cases, c.ID+".patch")
		pSum, err := fileSum(patchPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "corpus run:", err)
			return 2
		}
		decisions, err := readDecisions(filepath.Join(*cases, c.ID+".decide"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "corpus run:", err)
			return 2
		}
		key := binSum + cfgSum + pSum + strings.Join(decisions, "\n")
		h := sha256.Sum256([]byte(key))
		dir := filepath.Join(*results, c.ID, hex.EncodeToString(h[:8]))
		r, ok := readResult(dir)
		if !ok && !*cachedOnly && (len(want) == 0 || want[c.ID]) {
			fmt.Fprintf(os.Stderr, "corpus run: %s ...\n", c.ID)
			r = runCase(c, patchPath, dir, *bin, *tree, *config, *timeout, nil)
			if r.Class == classRefused && len(decisions) > 0 {
				var flags []string
				for _, d := range decisions {
					flags = append(flags, "--existing", d)
				}
				fmt.Fprintf(os.Stderr, "corpus run: %s: again with the engineer's decisions %s ...\n", c.ID, strings.Join(decisions, ", "))
				d := runCase(c, patchPath, filepath.Join(dir, "decided"), *bin, *tree, *config, *timeout, flags)
				r.Decisions, r.Decided, r.DecidedReason = decisions, d.Class, d.Reason
				r.Seconds += d.Seconds
			}
			if err := writeResult(dir, r); err != nil {
				fmt.Fprintln(os.Stderr, "corpus run:", err)
				return 2
			}
			fmt.Fprintf(os.Stderr, "corpus run: %s: %s %s (%.0f s)\n", c.ID, r.Class, r.Reason, r.Seconds)
		}
		if ok || r.Class != "" {
			all = append(all, r)
		}
	}
	md := table(all, len(index))
	fmt.Print(md)
	if *out != "" {
		if err := writeTable(*out, md); err != nil {
			fmt.Fprintln(os.Stderr, "corpus run:", err)
			return 2
		}
	}
	return 0
}

// The lines between which writeTable puts the table.
const (
	beginMark = "<!-- corpus-run table begin -->"
	endMark   = "<!-- corpus-run table end -->"
)

// writeTable puts md between the marker lines of the file at path, or
// makes it the whole file when the file does not exist or has no markers.
func writeTable(path, md string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(data)
	i, j := strings.Index(text, beginMark+"\n"), strings.Index(text, endMark)
	if i < 0 || j < i {
		return os.WriteFile(path, []byte(md), 0o644)
	}
	text = text[:i+len(beginMark)+1] + md + text[j:]
	return os.WriteFile(path, []byte(text), 0o644)
}

type indexEntry struct{ ID, Kind, Subject string }

func readIndex(path string) ([]indexEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []indexEntry
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(l, "\t", 3)
		if len(f) == 3 {
			out = append(out, indexEntry{f[0], f[1], f[2]})
		}
	}
	return out, nil
}

func fileSum(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:]), nil
}

func readResult(dir string) (Result, bool) {
	var r Result
	data, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil || json.Unmarshal(data, &r) != nil {
		return r, false
	}
	reclassify(&r, dir)
	if r.Decided != "" {
		d := Result{Class: r.Decided, Reason: r.DecidedReason}
		reclassify(&d, filepath.Join(dir, "decided"))
		r.Decided, r.DecidedReason = d.Class, d.Reason
	}
	return r, true
}

// readDecisions reads a case's ID.decide file (none: no decisions).
func readDecisions(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// reclassify classifies a result again from the reports saved in dir, so
// that a change of the rules needs no rerun.
func reclassify(r *Result, dir string) {
	if r.Class == classRefused {
		r.Reason = firstManual(filepath.Join(dir, "report.json"))
	}
	if r.Class == classNoOp && noneBuilt(filepath.Join(dir, "report.json")) {
		r.Class, r.Reason = classNotBuilt, notBuiltNoOp
	}
	if r.Class != classTimeout && (r.Class == classProven || strings.HasPrefix(r.Reason, "verify: ")) {
		if c, reason := classifyVerify(filepath.Join(dir, "verify.json")); c != "" {
			r.Class, r.Reason = c, reason
		}
	}
}

func writeResult(dir string, r Result) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "result.json"), append(data, '\n'), 0o644)
}

// runCase runs rewrite (with flags), then verify against the original,
// keeping their outputs in dir, and classifies the case.
func runCase(c indexEntry, patchPath, dir, bin, tree, config string, timeout time.Duration, flags []string) (r Result) {
	r = Result{ID: c.ID, Kind: c.Kind, Subject: c.Subject}
	start := time.Now()
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Class, r.Reason = classBroken, err.Error()
		return r
	}
	rewritten := filepath.Join(dir, "rewritten.patch")
	args := append([]string{"rewrite", "--tree", tree, "--config", config}, flags...)
	args = append(args, "--format", "json", "--report", filepath.Join(dir, "report.json"), "-o", rewritten, patchPath)
	code, stderr, timedOut := run(timeout, filepath.Join(dir, "rewrite.out"), bin, args...)
	os.WriteFile(filepath.Join(dir, "rewrite.err"), stderr, 0o644)
	switch {
	case timedOut:
		r.Class, r.Reason = classTimeout, "rewrite"
		return r
	case crashed(stderr):
		r.Class, r.Reason = classBroken, "rewrite crashed: "+crashLine(stderr)
		return r
	case code == 1:
		r.Class, r.Reason = classRefused, firstManual(filepath.Join(dir, "report.json"))
		return r
	case code != 0:
		r.Class, r.Reason = classBroken, fmt.Sprintf("rewrite exit %d: %s", code, firstLine(stderr, ""))
		return r
	}
	out, _ := os.ReadFile(rewritten)
	if !bytes.Contains(out, []byte("\n+++ ")) && !bytes.HasPrefix(out, []byte("+++ ")) {
		r.Class, r.Reason = classNoOp, "no livepatch needed: rewrite proved every change a no-op under the config"
		if noneBuilt(filepath.Join(dir, "report.json")) {
			r.Class, r.Reason = classNotBuilt, notBuiltNoOp
		}
		return r
	}
	code, stderr, timedOut = run(timeout, filepath.Join(dir, "verify.json"), bin, "verify", "--tree", tree, "--config", config,
		"--format", "json", "--original", patchPath, rewritten)
	os.WriteFile(filepath.Join(dir, "verify.err"), stderr, 0o644)
	switch {
	case timedOut:
		r.Class, r.Reason = classTimeout, "verify"
		return r
	case crashed(stderr):
		r.Class, r.Reason = classBroken, "verify crashed: "+crashLine(stderr)
		return r
	case code != 0 && code != 1:
		r.Class, r.Reason = classBroken, fmt.Sprintf("verify exit %d: %s", code, firstLine(stderr, ""))
		return r
	}
	r.Class, r.Reason = classifyVerify(filepath.Join(dir, "verify.json"))
	if r.Class == "" {
		r.Class, r.Reason = classBroken, "verify printed no JSON report: "+firstLine(stderr, "")
	}
	return r
}

// classifyVerify classifies a case from verify's JSON report: proven when
// every check passes; broken when the trees do not apply or compile (they
// have no layout to compare); unsafe when the layout check fails; unproven
// when another check fails. It returns "" when the report cannot be read.
func classifyVerify(path string) (class, reason string) {
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name    string `json:"name"`
			OK      bool   `json:"ok"`
			Skipped bool   `json:"skipped"`
			Summary string `json:"summary"`
		} `json:"checks"`
	}
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &rep) != nil {
		return "", ""
	}
	for _, ch := range rep.Checks {
		if ch.Name == "compile" && ch.Skipped {
			return classNotBuilt, "verify: " + oneLine(ch.Summary)
		}
	}
	if rep.OK {
		return classProven, ""
	}
	var failed []string
	class = classUnproven
	for _, ch := range rep.Checks {
		if ch.OK || ch.Skipped {
			continue
		}
		failed = append(failed, ch.Name+": "+oneLine(ch.Summary))
		switch ch.Name {
		case "apply", "compile":
			class = classBroken
		case "layout":
			if class != classBroken {
				class = classUnsafe
			}
		}
	}
	return class, "verify: " + strings.Join(failed, "; ")
}

// run runs a command with a time limit, its standard output to outPath,
// and returns its exit code, its standard error and whether it timed out.
// At the limit the whole process group gets SIGTERM, on which kprewrite
// stops its compiles and removes its scratch directories from the work
// area; what still runs 10 s later is killed.
func run(timeout time.Duration, outPath, bin string, args ...string) (int, []byte, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if f, err := os.Create(outPath); err == nil {
		defer f.Close()
		cmd.Stdout = f
	} else {
		cmd.Stdout = io.Discard
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers of the group, if any
		}
		return -1, stderr.Bytes(), true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.Bytes(), false
	}
	if err != nil {
		return -1, []byte(err.Error()), false
	}
	return 0, stderr.Bytes(), false
}

// firstManual returns the first finding of a rewrite report that needs an
// engineer, as "subject: action".
// notBuiltNoOp is the reason of an empty rewrite of a patch whose files
// the config builds none of: a not-built case, not a proof.
const notBuiltNoOp = "rewrite: the config builds none of the files the patch changes (the rewritten patch is empty)"

// noneBuilt reports whether rewrite's report maps every file of the patch
// to "not built".
func noneBuilt(reportPath string) bool {
	var rep struct {
		Patches []struct {
			Objects []struct {
				Object string `json:"object"`
			} `json:"objects"`
		} `json:"patches"`
	}
	data, err := os.ReadFile(reportPath)
	if err != nil || json.Unmarshal(data, &rep) != nil {
		return false
	}
	n := 0
	for _, p := range rep.Patches {
		for _, o := range p.Objects {
			if o.Object != "not built" {
				return false
			}
			n++
		}
	}
	return n > 0
}

func firstManual(reportPath string) string {
	var rep struct {
		Patches []struct {
			Findings []struct {
				File     string   `json:"file"`
				Subject  string   `json:"subject"`
				Kind     string   `json:"kind"`
				Action   string   `json:"action"`
				Resolved bool     `json:"resolved"`
				Tried    []string `json:"tried"`
			} `json:"findings"`
		} `json:"patches"`
	}
	data, err := os.ReadFile(reportPath)
	if err != nil || json.Unmarshal(data, &rep) != nil {
		return "no JSON report"
	}
	for _, p := range rep.Patches {
		for _, f := range p.Findings {
			if !f.Resolved && strings.HasPrefix(f.Action, "manual") {
				s := fmt.Sprintf("%s %s (%s): %s", f.Kind, f.Subject, f.File, f.Action)
				var tried []string
				for _, t := range f.Tried {
					t, _, _ = strings.Cut(t, "\n")
					if len(t) > 160 {
						t = t[:160] + "..."
					}
					tried = append(tried, t)
				}
				if len(tried) > 0 {
					s += " [tried: " + strings.Join(tried, "; ") + "]"
				}
				return oneLine(s)
			}
		}
	}
	return "exit 1 without a manual finding"
}

// crashed reports whether a run of kprewrite stopped on a bug of its own:
// a panic its guard caught ("internal error", exit 3) or one it did not.
func crashed(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("panic:")) || bytes.Contains(stderr, []byte("kprewrite: internal error"))
}

// crashLine is the line of stderr that says what crashed.
func crashLine(stderr []byte) string {
	if bytes.Contains(stderr, []byte("kprewrite: internal error")) {
		return firstLine(stderr, "kprewrite: internal error")
	}
	return firstLine(stderr, "panic:")
}

func firstLine(b []byte, prefix string) string {
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" && strings.Contains(l, prefix) {
			return oneLine(l)
		}
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > 700 {
		s = s[:700] + "..."
	}
	return s
}

// table renders the results: counts by kind of change, then one line per
// case.
func table(rs []Result, total int) string {
	var b strings.Builder
	byKind := map[string]map[string]int{}
	decided := map[string]int{} // refused, proven with the manifest's decisions
	const decidedCol = "decided"
	for _, r := range rs {
		if byKind[r.Kind] == nil {
			byKind[r.Kind] = map[string]int{}
		}
		byKind[r.Kind][r.Class]++
		if r.Class == classRefused && r.Decided == classProven {
			decided[r.Kind]++
		}
	}
	fmt.Fprintf(&b, "%d of %d cases run.\n\n| kind | cases |", len(rs), total)
	for _, c := range classes {
		fmt.Fprintf(&b, " %s |", c)
	}
	b.WriteString(" refused, proven with a decision |\n| --- | --- |")
	for range classes {
		b.WriteString(" --- |")
	}
	b.WriteString(" --- |\n")
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kindOrder(kinds[i]) < kindOrder(kinds[j]) })
	sum := map[string]int{}
	for _, k := range kinds {
		n := 0
		for _, v := range byKind[k] {
			n += v
		}
		fmt.Fprintf(&b, "| %s | %d |", k, n)
		for _, c := range classes {
			fmt.Fprintf(&b, " %d |", byKind[k][c])
			sum[c] += byKind[k][c]
		}
		fmt.Fprintf(&b, " %d |\n", decided[k])
		sum[decidedCol] += decided[k]
	}
	fmt.Fprintf(&b, "| **all** | **%d** |", len(rs))
	for _, c := range classes {
		fmt.Fprintf(&b, " **%d** |", sum[c])
	}
	fmt.Fprintf(&b, " **%d** |\n\n", sum[decidedCol])
	sorted := append([]Result(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Kind != sorted[j].Kind {
			return kindOrder(sorted[i].Kind) < kindOrder(sorted[j].Kind)
		}
		return sorted[i].ID < sorted[j].ID
	})
	for _, r := range sorted {
		fmt.Fprintf(&b, "- `%s` (%s): **%s**", r.ID, r.Kind, r.Class)
		if r.Reason != "" {
			fmt.Fprintf(&b, " — %s", r.Reason)
		}
		if r.Decided != "" {
			var flags []string
			for _, d := range r.Decisions {
				flags = append(flags, fmt.Sprintf("`--existing \"%s\"`", d))
			}
			fmt.Fprintf(&b, "; with the engineer's decision %s: **%s**", strings.Join(flags, " "), r.Decided)
			if r.DecidedReason != "" {
				fmt.Fprintf(&b, " — %s", r.DecidedReason)
			}
		}
		fmt.Fprintf(&b, " (%.0f s)\n", r.Seconds)
	}
	return b.String()
}

func kindOrder(k string) int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return len(Kinds)
}
