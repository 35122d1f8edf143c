package progress

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a fake time source the tests advance by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(mode Mode) (*Tracker, *bytes.Buffer, *clock) {
	var b bytes.Buffer
	ck := &clock{t: time.Unix(1000, 0)}
	t := New(&b, mode)
	t.now = ck.now
	t.start = ck.now()
	return t, &b, ck
}

func TestPhasesRecorded(t *testing.T) {
	tr, out, ck := newTest(Off)
	s := tr.Start("oracle", 3)
	ck.add(2 * time.Second)
	s.Done("a.c", false)
	s.Done("b.c", true)
	s.Done("c.c", false)
	s.End()
	// two overlapping steps of one phase count their wall time once
	v1 := tr.Start("verify", 2)
	ck.add(time.Second)
	v2 := tr.Start("verify", 2)
	ck.add(3 * time.Second)
	v1.End()
	ck.add(time.Second)
	v2.Done("x.c", true)
	v2.End()
	got := tr.Phases()
	want := []Phase{
		{Name: "oracle", Seconds: 2, Files: 3, Cached: 1},
		{Name: "verify", Seconds: 5, Files: 1, Cached: 1},
		{Name: "total", Seconds: 7},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("phases (-want +got):\n%s", d)
	}
	if out.Len() != 0 {
		t.Errorf("mode Off printed %q", out.String())
	}
}

func TestLinesShowNofMAfterThreshold(t *testing.T) {
	tr, out, ck := newTest(Lines)
	s := tr.Start("verify", 3)
	s.Done("fast.c", false) // under a second: nothing shown
	ck.add(1500 * time.Millisecond)
	s.Done("drivers/net/bonding/bond_main.c", false)
	s.Done("net/core/dev.c", true)
	s.End()
	q := tr.Start("style", 0)
	ck.add(100 * time.Millisecond) // a short phase prints nothing
	q.End()
	want := "  VERIFY  [2/3] drivers/net/bonding/bond_main.c  1.5s\n" +
		"  VERIFY  [3/3] net/core/dev.c  1.5s\n" +
		"  VERIFY  done: 3 files in 1.5s\n"
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}

func TestStatusLine(t *testing.T) {
	tr, _, ck := newTest(Off) // no ticker: statusLocked is called by hand
	tr.mode = TTY
	s := tr.Start("oracle", 13)
	s.Done("a.c", false)
	if got := tr.statusLocked(); got != "" {
		t.Errorf("status under the threshold = %q, want nothing", got)
	}
	ck.add(2 * time.Second)
	s.Done("drivers/net/bonding/bond_main.c", false)
	if got, want := tr.statusLocked(), "[   2.0s] oracle: 2/13 drivers/net/bonding/bond_main.c"; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	s.End()
}

func TestQuietAndNotATerminal(t *testing.T) {
	var b bytes.Buffer
	if m := ModeFor(&b, false, false); m != Off {
		t.Errorf("a buffer without --progress: mode %v, want Off", m)
	}
	if m := ModeFor(&b, false, true); m != Lines {
		t.Errorf("a buffer with --progress: mode %v, want Lines", m)
	}
	if m := ModeFor(&b, true, true); m != Off {
		t.Errorf("--quiet --progress: mode %v, want Off", m)
	}
}

func TestContext(t *testing.T) {
	if From(context.Background()) != nil {
		t.Fatal("a bare context carries a tracker")
	}
	var nilT *Tracker
	nilT.Start("x", 1).Done("a", false) // a nil tracker and step do nothing
	nilT.Start("x", 1).End()
	tr := New(nil, Lines)
	ctx := Named(With(context.Background(), tr), "facts")
	if From(ctx) != tr || NameOf(ctx, "compile") != "facts" || NameOf(context.Background(), "compile") != "compile" {
		t.Error("the context does not carry the tracker and phase name")
	}
}

func TestWriteTimings(t *testing.T) {
	var b bytes.Buffer
	WriteTimings(&b, []Phase{{Name: "total", Seconds: 9}, {Name: "oracle", Seconds: 2.5, Files: 4, Cached: 4}})
	for _, want := range []string{"oracle         2.50s  4 files, 4 from the cache", "total          9.00s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("timings %q lack %q", b.String(), want)
		}
	}
	if strings.Index(b.String(), "oracle") > strings.Index(b.String(), "total") {
		t.Error("total is not last")
	}
}
