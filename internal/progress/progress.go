// Package progress shows what a long run is doing and records how long each
// phase took. A Tracker travels in the context (With, From); the compiler
// pool, kbuild's command learning, the oracle, the facts and verify start
// steps on it. Progress goes to standard error only, so reports and patches
// stay byte-identical whether it is shown or not.
//
// On a terminal the status is one line rewritten in place
// ("[  12.3s] verify: 5/12 drivers/net/bonding/bond_main.c"); elsewhere,
// when asked for, it is kbuild-style terse lines, one per finished file of a
// phase that has run for over a second ("  VERIFY  [5/12] drivers/...  3.1s").
// Nothing is printed for a phase shorter than a second.
package progress

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mode is how progress is shown.
type Mode int

// The modes.
const (
	Off   Mode = iota // record phase times only
	Lines             // kbuild-style lines (stderr is not a terminal, --progress)
	TTY               // one status line rewritten in place
)

// Threshold is how long a phase runs before its progress is shown.
const Threshold = time.Second

// Phase is the time spent in one named phase of a run. Steps of the same
// phase that overlap (variants compiled at once) count once: Seconds is
// the wall time during which at least one of them ran.
type Phase struct {
	Name    string  `json:"phase"`
	Seconds float64 `json:"seconds"`
	Files   int     `json:"files,omitempty"` // files done in the phase (compiles, commands learned)
	Cached  int     `json:"cached,omitempty"`
}

type phase struct {
	Phase
	active int
	since  time.Time // when active went from 0 to 1
	done   int       // files done in the active steps
	total  int       // files to do in the active steps
	last   string    // last file finished
	shown  bool      // a line was printed for the current activity
}

// Tracker records phases and shows their progress.
type Tracker struct {
	mu     sync.Mutex
	w      io.Writer
	mode   Mode
	now    func() time.Time
	start  time.Time
	order  []string
	phases map[string]*phase
	status bool // a TTY status line is on screen
	stop   chan struct{}
	wg     sync.WaitGroup
}

// New returns a tracker that shows progress on w in the given mode.
func New(w io.Writer, mode Mode) *Tracker {
	if w == nil {
		mode = Off
	}
	t := &Tracker{w: w, mode: mode, now: time.Now, phases: map[string]*phase{}}
	t.start = t.now()
	if mode == TTY {
		t.stop = make(chan struct{})
		t.wg.Add(1)
		go t.tick()
	}
	return t
}

// ModeFor chooses the mode for w: quiet wins; then force (--progress)
// shows progress (in place on a terminal, as lines elsewhere); by default
// progress is shown only on a terminal.
func ModeFor(w io.Writer, quiet, force bool) Mode {
	tty := IsTerminal(w)
	switch {
	case quiet:
		return Off
	case tty && os.Getenv("TERM") != "dumb":
		return TTY
	case force:
		return Lines
	}
	return Off
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type ctxKey struct{}
type phaseKey struct{}

// With returns a context that carries t.
func With(ctx context.Context, t *Tracker) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// From returns the tracker ctx carries, or a tracker that records nothing
// and prints nothing.
func From(ctx context.Context) *Tracker {
	if ctx != nil {
		if t, ok := ctx.Value(ctxKey{}).(*Tracker); ok && t != nil {
			return t
		}
	}
	return nil
}

// Named returns a context whose compiles count toward the named phase.
func Named(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, phaseKey{}, name)
}

// NameOf returns the phase named in ctx, or def.
func NameOf(ctx context.Context, def string) string {
	if ctx != nil {
		if n, ok := ctx.Value(phaseKey{}).(string); ok && n != "" {
			return n
		}
	}
	return def
}

// Step is one stretch of work in a phase, with the number of files it
// handles. Its methods do nothing on a nil Step.
type Step struct {
	t     *Tracker
	p     *phase
	total int
	done  int
	ended bool
}

// Start begins a step of the named phase that handles total files (0: not
// counted in files). A nil tracker gives a nil step.
func (t *Tracker) Start(name string, total int) *Step {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.phases[name]
	if p == nil {
		p = &phase{Phase: Phase{Name: name}}
		t.phases[name] = p
		t.order = append(t.order, name)
	}
	if p.active == 0 {
		p.since = t.now()
		p.done, p.total, p.shown, p.last = 0, 0, false, ""
	}
	p.active++
	p.total += total
	return &Step{t: t, p: p, total: total}
}

// Done records that one file of the step is finished; cached says its
// result came from the cache.
func (s *Step) Done(file string, cached bool) {
	if s == nil {
		return
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.ended {
		return
	}
	s.done++
	s.p.done++
	s.p.Files++
	if cached {
		s.p.Cached++
	}
	s.p.last = file
	if t.mode == Lines {
		if el := t.now().Sub(s.p.since); el >= Threshold {
			fmt.Fprintf(t.w, "  %-7s [%d/%d] %s  %.1fs\n", strings.ToUpper(s.p.Name), s.p.done, s.p.total, file, el.Seconds())
			s.p.shown = true
		}
	}
}

// End ends the step.
func (s *Step) End() {
	if s == nil {
		return
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.ended {
		return
	}
	s.ended = true
	p := s.p
	p.active--
	if p.active > 0 {
		return
	}
	el := t.now().Sub(p.since)
	p.Seconds += el.Seconds()
	if t.mode == Lines && el >= Threshold {
		if p.total > 0 {
			fmt.Fprintf(t.w, "  %-7s done: %d files in %.1fs\n", strings.ToUpper(p.Name), p.done, el.Seconds())
		} else {
			fmt.Fprintf(t.w, "  %-7s done in %.1fs\n", strings.ToUpper(p.Name), el.Seconds())
		}
	}
	if t.mode == TTY {
		t.clearLocked()
	}
}

// tick redraws the status line of a terminal.
func (t *Tracker) tick() {
	defer t.wg.Done()
	tk := time.NewTicker(200 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.mu.Lock()
			if line := t.statusLocked(); line != "" {
				fmt.Fprintf(t.w, "\r\033[K%s", line)
				t.status = true
			}
			t.mu.Unlock()
		}
	}
}

// statusLocked is the status line: every active phase over the threshold.
func (t *Tracker) statusLocked() string {
	now := t.now()
	var parts []string
	for _, n := range t.order {
		p := t.phases[n]
		if p.active == 0 || now.Sub(p.since) < Threshold {
			continue
		}
		s := p.Name
		if p.total > 0 {
			s += fmt.Sprintf(": %d/%d", p.done, p.total)
			if p.last != "" {
				s += " " + p.last
			}
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	line := fmt.Sprintf("[%6.1fs] %s", now.Sub(t.start).Seconds(), strings.Join(parts, "; "))
	if len(line) > 100 {
		line = line[:97] + "..."
	}
	return line
}

func (t *Tracker) clearLocked() {
	if t.status {
		fmt.Fprint(t.w, "\r\033[K")
		t.status = false
	}
}

// Close stops the status line and clears it.
func (t *Tracker) Close() {
	if t == nil {
		return
	}
	if t.stop != nil {
		close(t.stop)
		t.wg.Wait()
		t.stop = nil
	}
	t.mu.Lock()
	t.clearLocked()
	t.mu.Unlock()
}

// Phases returns the recorded phases in the order they first started, with
// the time since the tracker was made as a last "total" phase.
func (t *Tracker) Phases() []Phase {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var out []Phase
	for _, n := range t.order {
		p := t.phases[n]
		ph := p.Phase
		if p.active > 0 {
			ph.Seconds += now.Sub(p.since).Seconds()
		}
		ph.Seconds = round(ph.Seconds)
		out = append(out, ph)
	}
	out = append(out, Phase{Name: "total", Seconds: round(now.Sub(t.start).Seconds())})
	return out
}

func round(s float64) float64 { return float64(int64(s*1000+0.5)) / 1000 }

// WriteTimings writes the phase times as a table.
func WriteTimings(w io.Writer, phases []Phase) {
	ps := append([]Phase(nil), phases...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[j].Name == "total" && ps[i].Name != "total" })
	fmt.Fprintln(w, "kprewrite: time per phase (overlapping phases run at once):")
	for _, p := range ps {
		extra := ""
		if p.Files > 0 {
			extra = fmt.Sprintf("  %d files", p.Files)
			if p.Cached > 0 {
				extra += fmt.Sprintf(", %d from the cache", p.Cached)
			}
		}
		fmt.Fprintf(w, "  %-10s %8.2fs%s\n", p.Name, p.Seconds, extra)
	}
}
