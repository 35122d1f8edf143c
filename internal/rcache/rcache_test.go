package rcache

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func entryFor(t *testing.T, c *Cache, files ...string) *Entry {
	t.Helper()
	e := &Entry{Data: []byte("result"), Object: []byte("\x7fELF")}
	for _, f := range files {
		s, err := c.SumFile(f, "")
		if err != nil {
			t.Fatal(err)
		}
		e.Deps = append(e.Deps, Dep{Path: f, Sum: s})
	}
	return e
}

func same(p string) string { return p }

func TestHitAndMissOnDependencyChange(t *testing.T) {
	dir, src := t.TempDir(), t.TempDir()
	h := filepath.Join(src, "a.h")
	os.WriteFile(h, []byte("int a;\n"), 0o644)
	c := Open(dir, nil)
	k := c.Key([]byte("gcc -c a.c"), []byte("content"))
	if c.Lookup(k, same, "") != nil {
		t.Fatal("a hit in an empty cache")
	}
	c.Store(k, entryFor(t, c, h))
	// a second run (a new Cache: no memo) finds it
	c2 := Open(dir, nil)
	e := c2.Lookup(k, same, "")
	if e == nil || string(e.Data) != "result" || string(e.Object) != "\x7fELF" {
		t.Fatalf("lookup = %+v, want the stored entry", e)
	}
	// an edit of the header the compile read is a miss
	os.WriteFile(h, []byte("int a, b;\n"), 0o644)
	if Open(dir, nil).Lookup(k, same, "") != nil {
		t.Error("hit after a dependency changed")
	}
	if h, m, s := c.Stats(); h != 0 || m != 1 || s != 1 {
		t.Errorf("stats = %d hits %d misses %d stored, want 0 1 1", h, m, s)
	}
	if c.Key([]byte("a"), []byte("bc")) == c.Key([]byte("ab"), []byte("c")) {
		t.Error("keys of differently split parts collide")
	}
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	dir := t.TempDir()
	c := Open(dir, nil)
	k := c.Key([]byte("x"))
	c.Store(k, &Entry{Data: []byte("result")})
	p := entryPath(dir, k)
	data, _ := os.ReadFile(p)
	for _, bad := range [][]byte{data[:len(data)/2], append(append([]byte{}, data[:len(data)-1]...), data[len(data)-1]^1), []byte("garbage")} {
		os.WriteFile(p, bad, 0o644)
		if Open(dir, nil).Lookup(k, same, "") != nil {
			t.Errorf("a damaged entry (%d bytes) was a hit", len(bad))
		}
	}
}

func TestReadOnlyAndUnwritable(t *testing.T) {
	shared := t.TempDir()
	w := Open(shared, nil)
	k := w.Key([]byte("q"))
	w.Store(k, &Entry{Data: []byte("shared")})

	// a run whose own cache cannot be written reads the shared one
	ro := filepath.Join(t.TempDir(), "file")
	os.WriteFile(ro, nil, 0o644) // a file where the cache directory should be
	c := Open(filepath.Join(ro, "results"), []string{shared})
	e := c.Lookup(k, same, "")
	if e == nil || string(e.Data) != "shared" {
		t.Fatalf("the read-only cache was not read: %+v", e)
	}
	c.Store(c.Key([]byte("other")), &Entry{Data: []byte("x")})
	if !c.WriteFailed() || c.Writable() {
		t.Error("a failed store is not reported")
	}
	if _, _, s := c.Stats(); s != 0 {
		t.Errorf("stored %d entries in an unwritable cache", s)
	}
	// the read-only directory is never written
	before, _ := filepath.Glob(filepath.Join(shared, "*", "*"))
	c2 := Open("", []string{shared})
	c2.Store(c2.Key([]byte("new")), &Entry{Data: []byte("y")})
	after, _ := filepath.Glob(filepath.Join(shared, "*", "*"))
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("the read-only cache changed:\n%s", d)
	}
}

func TestVolatileFilesAreHashedEachTime(t *testing.T) {
	scratch := t.TempDir()
	f := filepath.Join(scratch, "ovl.h")
	os.WriteFile(f, []byte("one"), 0o644)
	c := Open("", nil)
	a, _ := c.SumFile(f, scratch)
	st, _ := os.Stat(f)
	os.WriteFile(f, []byte("two"), 0o644)
	os.Chtimes(f, st.ModTime(), st.ModTime()) // same size and time: only the content tells
	b, _ := c.SumFile(f, scratch)
	if a == b {
		t.Error("a file under the scratch directory was remembered, not hashed again")
	}
}

func TestParseDeps(t *testing.T) {
	got := ParseDeps([]byte("obj/a.o: /src/a.c include/x.h \\\n /src/b\\ c.h include/x.h\n"))
	want := []string{"/src/a.c", "include/x.h", "/src/b c.h"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("deps (-want +got):\n%s", d)
	}
}

func TestContext(t *testing.T) {
	if From(context.Background()) != nil {
		t.Error("a bare context carries a cache")
	}
	c := Open("", nil)
	if From(With(context.Background(), c)) != c {
		t.Error("the context does not carry the cache")
	}
}

// A bounded cache keeps each subdirectory to its share: storing past it
// removes the least recently used entries (a hit counts as a use), never
// the one just stored, and leaves entries other runs are writing alone.
func TestBoundedCacheDropsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	c := Open(dir, nil)
	data := make([]byte, 1000)
	// keys in one subdirectory ("ab"), stored a second apart
	keys := []string{"ab01", "ab02", "ab03", "ab04", "ab05"}
	base := time.Now().Add(-time.Hour)
	for i, k := range keys[:4] {
		c.Store(k, &Entry{Data: data})
		when := base.Add(time.Duration(i) * time.Second)
		os.Chtimes(entryPath(dir, k), when, when)
	}
	os.WriteFile(filepath.Join(dir, "ab", ".ab06.tmp123"), data, 0o644) // another run's
	// ab01, the oldest, is used again: ab02 is now the least recently used
	if c.Lookup("ab01", same, "") == nil {
		t.Fatal("miss on a stored entry")
	}
	// a share of about 3.5 entries: storing the fifth drops the least
	// recently used down to 80 % of it (2 entries)
	size, _ := os.Stat(entryPath(dir, "ab01"))
	c.SetMax(shares * size.Size() * 35 / 10)
	c.Store(keys[4], &Entry{Data: data})
	var left []string
	for _, k := range keys {
		if _, err := os.Stat(entryPath(dir, k)); err == nil {
			left = append(left, k)
		}
	}
	if want := []string{"ab01", "ab05"}; !cmp.Equal(left, want) {
		t.Errorf("entries left %v, want %v (the used one and the new one)", left, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "ab", ".ab06.tmp123")); err != nil {
		t.Errorf("another run's temporary file was removed: %v", err)
	}
}
