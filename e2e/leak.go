package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// leakScript is the leak check a Boot with LeakCheck runs after its
// script (the first %s is Boot.Teardown):
//
//   - Live klp shadow variables are counted directly: kmemleak cannot see
//     a leaked one, since every shadow stays referenced from the kernel's
//     klp_shadow_hash until it is freed. With slub_debug=U, debugfs lists
//     each slab cache's live objects by allocation call site
//     (/sys/kernel/debug/slab/<cache>/alloc_traces); the shadows are the
//     objects allocated by kernel/livepatch/shadow.c
//     (__klp_shadow_get_or_alloc). They are counted after the teardown,
//     the livepatches still enabled, and after every livepatch is disabled
//     and its transition has finished.
//   - kmemleak scans twice (an object is reported once it is at least 5 s
//     old and unreferenced in two scans with the same content) and its
//     report is printed between markers, backtraces included.
//
// Shadows are freed with kfree_rcu, which batches frees for up to 5 s:
// the counts wait for it.
const leakScript = `mount -t debugfs debugfs /sys/kernel/debug
shadow_sites() { cat /sys/kernel/debug/slab/*/alloc_traces 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $2 ~ /klp_shadow/'; }
shadows() { shadow_sites | awk '{ n += $1 } END { print n + 0 }'; }
%s
sleep 6
shadow_sites | while read l; do echo "KPREWRITE-LEAK-SITE: $l"; done
echo "KPREWRITE-LEAK: shadows-enabled=$(shadows)"
for lp in $(ls /sys/kernel/livepatch); do echo 0 > /sys/kernel/livepatch/$lp/enabled; done
i=0
while [ -n "$(ls /sys/kernel/livepatch)" ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done
echo "KPREWRITE-LEAK: still-enabled=$(ls /sys/kernel/livepatch | tr '\n' ' ')"
sleep 6
i=0
while [ "$(shadows)" != 0 ] && [ $i -lt 10 ]; do sleep 1; i=$((i+1)); done
shadow_sites | while read l; do echo "KPREWRITE-LEAK-SITE: $l"; done
echo "KPREWRITE-LEAK: shadows=$(shadows)"
if echo scan > /sys/kernel/debug/kmemleak && echo scan > /sys/kernel/debug/kmemleak; then
	echo KPREWRITE-KMEMLEAK-BEGIN
	cat /sys/kernel/debug/kmemleak
	echo KPREWRITE-KMEMLEAK-END
else
	echo "KPREWRITE-LEAK: kmemleak unavailable"
fi`

// leakSection is the part of the init script after the case's script.
func (b *Boot) leakSection() string {
	if !b.LeakCheck {
		return ""
	}
	return fmt.Sprintf(leakScript, b.Teardown)
}

// Leaks is what the leak check of a run found.
type Leaks struct {
	Livepatches    []string // the livepatches the run enabled (the kernel's "enabling patch" lines)
	ShadowsEnabled int      // live klp shadow variables after the teardown, the livepatches still enabled
	Shadows        int      // live klp shadow variables after every livepatch was disabled
	StillEnabled   string   // livepatches the disable left, "" when none
	Kmemleak       []LeakReport
}

// LeakReport is one object kmemleak reports as unreferenced.
type LeakReport struct {
	Object    string   // "unreferenced object 0x... (size N):"
	Comm      string   // the task that allocated it, "comm ..., pid ..., jiffies ..."
	Backtrace []string // the allocation's frames, innermost first
}

var (
	leakRE    = regexp.MustCompile(`(?m)^KPREWRITE-LEAK: ([a-z-]+)=(.*?)\r?$`)
	enablesRE = regexp.MustCompile(`livepatch: enabling patch '([^']+)'`)
	printkRE  = regexp.MustCompile(`^\[\s*\d+\.\d+\]`)
)

// parseLeaks reads the leak check's marker lines and kmemleak's report
// from a console.
func parseLeaks(console string) (*Leaks, error) {
	l := &Leaks{ShadowsEnabled: -1, Shadows: -1}
	for _, m := range enablesRE.FindAllStringSubmatch(console, -1) {
		if !slices.Contains(l.Livepatches, m[1]) {
			l.Livepatches = append(l.Livepatches, m[1])
		}
	}
	for _, m := range leakRE.FindAllStringSubmatch(console, -1) {
		v := strings.TrimSpace(m[2])
		switch m[1] {
		case "shadows-enabled", "shadows":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("shadow count %q is not a number", v)
			}
			if m[1] == "shadows" {
				l.Shadows = n
			} else {
				l.ShadowsEnabled = n
			}
		case "still-enabled":
			l.StillEnabled = v
		}
	}
	if l.ShadowsEnabled < 0 || l.Shadows < 0 {
		return nil, fmt.Errorf("the machine printed no shadow counts")
	}
	begin := strings.Index(console, "KPREWRITE-KMEMLEAK-BEGIN")
	end := strings.Index(console, "KPREWRITE-KMEMLEAK-END")
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("the machine printed no kmemleak report (is CONFIG_DEBUG_KMEMLEAK in testdata/kernel/e2e.config?)")
	}
	var cur *LeakReport
	inTrace := false
	for _, line := range strings.Split(console[begin:end], "\n")[1:] {
		line = strings.TrimRight(line, "\r")
		switch t := strings.TrimSpace(line); {
		case t == "" || printkRE.MatchString(t):
			// a kernel message printed while the report was read
		case strings.HasPrefix(t, "unreferenced object"):
			l.Kmemleak = append(l.Kmemleak, LeakReport{Object: t})
			cur, inTrace = &l.Kmemleak[len(l.Kmemleak)-1], false
		case cur == nil:
		case strings.HasPrefix(t, "comm "):
			cur.Comm = t
		case strings.HasPrefix(t, "backtrace"):
			inTrace = true
		case inTrace:
			cur.Backtrace = append(cur.Backtrace, t)
		}
	}
	return l, nil
}

// frameOffsetRE is a frame's offset in its function ("+0x1c/0x90").
var frameOffsetRE = regexp.MustCompile(`\+0x[0-9a-f]+/0x[0-9a-f]+`)

// Signature is the report's allocation path without addresses and
// offsets, so reports of two machines (even of two kernels) compare.
func (r LeakReport) Signature() string {
	var fs []string
	for _, f := range r.Backtrace {
		fs = append(fs, frameOffsetRE.ReplaceAllString(f, ""))
	}
	return strings.Join(fs, " < ")
}

// rawFrameRE is a frame %pS could not name: code of a module since
// unloaded (a replaced livepatch).
var rawFrameRE = regexp.MustCompile(`^0x[0-9a-f]+$`)

// FromLivepatch says whether the object was allocated by a livepatch of
// the run or by the klp shadow code (one of its frames is in a livepatch
// module, in kernel/livepatch/shadow.c, or in code no longer loaded).
func (r LeakReport) FromLivepatch(livepatches []string) bool {
	for _, f := range r.Backtrace {
		if strings.Contains(f, "klp_shadow") || rawFrameRE.MatchString(f) {
			return true
		}
		for _, lp := range livepatches {
			if strings.HasSuffix(f, "["+lp+"]") {
				return true
			}
		}
	}
	return false
}

// FromLivepatch is the reports of objects the livepatches or the klp
// shadow code allocated.
func (l *Leaks) FromLivepatch() []LeakReport {
	var out []LeakReport
	for _, r := range l.Kmemleak {
		if r.FromLivepatch(l.Livepatches) {
			out = append(out, r)
		}
	}
	return out
}

// NewSince is the reports whose allocation path the baseline machine (the
// unpatched kernel) did not report as often: what the livepatch added to
// the boot's own reports.
func (l *Leaks) NewSince(base *Leaks) []LeakReport {
	seen := map[string]int{}
	if base != nil {
		for _, r := range base.Kmemleak {
			seen[r.Signature()]++
		}
	}
	var out []LeakReport
	for _, r := range l.Kmemleak {
		if seen[r.Signature()] > 0 {
			seen[r.Signature()]--
			continue
		}
		out = append(out, r)
	}
	return out
}

// Problems is what the leak check of a livepatched machine must not find,
// compared with the unpatched machine's: a livepatch left enabled, a
// live shadow after the disable, an object kmemleak reports that the
// livepatch or the shadow code allocated, or more reports than the
// unpatched machine's.
func (l *Leaks) Problems(unpatched *Leaks) []string {
	var out []string
	if l.StillEnabled != "" {
		out = append(out, "livepatches still enabled after the disable: "+l.StillEnabled)
	}
	if l.Shadows != 0 {
		out = append(out, fmt.Sprintf("%d klp shadow variables live after every livepatch was disabled", l.Shadows))
	}
	for _, r := range l.FromLivepatch() {
		out = append(out, "kmemleak: "+r.Object+" allocated by the livepatch: "+r.Signature())
	}
	for _, r := range l.NewSince(unpatched) {
		if !r.FromLivepatch(l.Livepatches) {
			out = append(out, "kmemleak: "+r.Object+" not reported on the unpatched kernel: "+r.Signature())
		}
	}
	return out
}

// Summary is the leak check's line in the e2e tables.
func (l *Leaks) Summary() string {
	if l == nil {
		return "not checked"
	}
	s := fmt.Sprintf("shadows %d live with the livepatch enabled, %d after disable; kmemleak %d objects", l.ShadowsEnabled, l.Shadows, len(l.Kmemleak))
	if n := len(l.FromLivepatch()); n > 0 {
		s += fmt.Sprintf(" (%d allocated by the livepatch)", n)
	}
	if l.StillEnabled != "" {
		s += "; still enabled: " + l.StillEnabled
	}
	return s
}

// leakSites is the leak check's shadow call-site lines of a console (the
// alloc_traces lines counted), for a failure's message.
func leakSites(console string) string {
	var out []string
	for _, l := range strings.Split(console, "\n") {
		if strings.HasPrefix(l, "KPREWRITE-LEAK-SITE: ") {
			out = append(out, strings.TrimRight(l, "\r"))
		}
	}
	if len(out) == 0 {
		return "(no klp shadow call site in any alloc_traces)"
	}
	return strings.Join(out, "\n")
}
