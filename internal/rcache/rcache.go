// Package rcache is kprewrite's content-addressed cache of compile
// results, shared by the runs on one machine (and, read-only, by many).
//
// An entry is found by a key that hashes what the caller knows before a
// compile (the tool's own binary, the compiler, the normalized command, the
// source's content and the names of the overlay's files); it holds the
// result and the files the compile read (gcc's dependency list) with the
// hash of each one's content. A lookup is a hit only when every one of those
// files still has the same content, as in ccache's direct mode: an edit to
// any header the compile read is a miss.
//
// The cache is bounded (SetMax, 5 GiB unless told otherwise), as ccache
// is: each of its 256 subdirectories holds at most its share, and a store
// that passes it removes the least recently used entries there (a hit
// marks its entry used), down to 80 % of the share. Without a bound a
// corpus of kernel compiles fills the disk.
//
// Entries are written through a temporary file and a rename, so concurrent
// runs never see a partial entry; each ends with a checksum, so a damaged
// entry reads as a miss. A cache that cannot be written is used without
// storing (Stored counts nothing); read-only caches (a shared one) are only
// read. The cache never changes a result: reports and patches are
// byte-identical with it, without it, and from a cold or warm one.
package rcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kprewrite/kprewrite/internal/fsutil"
)

// Sum is a SHA-256 of a file's content.
type Sum [sha256.Size]byte

// Dep is one file a compile read, by its normalized path, and its content.
type Dep struct {
	Path string
	Sum  Sum
}

// Entry is one cached result.
type Entry struct {
	Deps   []Dep
	Data   []byte // the caller's encoding of the result
	Object []byte // the object file, if any
}

const magic = "kprewrite-rcache-1\n"

// Cache is a result cache: a writable directory (may be "") and read-only
// ones consulted after it.
type Cache struct {
	dir  string
	ro   []string
	tool Sum

	mu   sync.Mutex
	memo map[string]memoSum

	hits, misses, stored atomic.Int64
	noWrite              atomic.Bool
	max                  atomic.Int64 // bytes; 0: unbounded
}

// DefaultMax is the size a cache keeps to unless SetMax says otherwise.
const DefaultMax = 5 << 30

// shares is how many subdirectories the entries spread over (the first
// two hex digits of the key): each keeps to its share of the bound.
const shares = 256

// SetMax bounds the cache directory's size in bytes (0: unbounded).
func (c *Cache) SetMax(n int64) {
	if c != nil {
		c.max.Store(max(n, 0))
	}
}

type memoSum struct {
	size  int64
	mtime int64
	ino   uint64
	sum   Sum
}

// DefaultDir returns the result cache below the cache directory cacheDir.
func DefaultDir(cacheDir string) string { return filepath.Join(cacheDir, "results") }

// Open returns a cache that stores in dir ("": stores nothing) and also
// reads the read-only directories ro. The running binary's content is part
// of every key, so a rebuilt kprewrite never reads an older one's results.
func Open(dir string, ro []string) *Cache {
	c := &Cache{dir: dir, memo: map[string]memoSum{}}
	c.max.Store(DefaultMax)
	for _, d := range ro {
		if d != "" && d != dir {
			c.ro = append(c.ro, d)
		}
	}
	c.tool = toolSum()
	return c
}

var (
	toolOnce sync.Once
	toolHash Sum
)

func toolSum() Sum {
	toolOnce.Do(func() {
		h := sha256.New()
		h.Write([]byte(magic))
		if exe, err := os.Executable(); err == nil {
			if f, err := os.Open(exe); err == nil {
				io.Copy(h, f)
				f.Close()
			}
		}
		copy(toolHash[:], h.Sum(nil))
	})
	return toolHash
}

type ctxKey struct{}

// With returns a context that carries c.
func With(ctx context.Context, c *Cache) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// From returns the cache ctx carries, or nil (no cache).
func From(ctx context.Context) *Cache {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(ctxKey{}).(*Cache)
	return c
}

// Key hashes the parts (with the tool's identity) into an entry key.
func (c *Cache) Key(parts ...[]byte) string {
	h := sha256.New()
	h.Write(c.tool[:])
	for _, p := range parts {
		var n [8]byte
		l := uint64(len(p))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func entryPath(dir, key string) string {
	if len(key) < 3 {
		return filepath.Join(dir, "short", key)
	}
	return filepath.Join(dir, key[:2], key)
}

// Lookup returns the entry stored under key when every file it read still
// has the same content, or nil. resolve maps a stored dependency path to
// the file to read now; files whose real path is under volatile (a scratch
// directory rewritten during the run) are hashed at every lookup, others
// once per run.
func (c *Cache) Lookup(key string, resolve func(string) string, volatile string) *Entry {
	if c == nil {
		return nil
	}
	for _, dir := range append([]string{c.dir}, c.ro...) {
		if dir == "" {
			continue
		}
		e := read(entryPath(dir, key))
		if e == nil {
			continue
		}
		if c.fresh(e, resolve, volatile) {
			c.hits.Add(1)
			if dir == c.dir && !c.noWrite.Load() {
				now := time.Now()
				os.Chtimes(entryPath(dir, key), now, now) // recently used: the last to go
			}
			return e
		}
	}
	c.misses.Add(1)
	return nil
}

func (c *Cache) fresh(e *Entry, resolve func(string) string, volatile string) bool {
	for _, d := range e.Deps {
		s, err := c.SumFile(resolve(d.Path), volatile)
		if err != nil || s != d.Sum {
			return false
		}
	}
	return true
}

// read reads an entry; a missing, partial or damaged one is nil.
func read(p string) *Entry {
	data, err := os.ReadFile(p)
	if err != nil || len(data) < len(magic)+sha256.Size || !bytes.HasPrefix(data, []byte(magic)) {
		return nil
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil
	}
	var e Entry
	if err := gob.NewDecoder(bytes.NewReader(body[len(magic):])).Decode(&e); err != nil {
		return nil
	}
	return &e
}

// Store writes e under key in the writable directory. Failing to write is
// not an error of the run: the cache is then left alone for the rest of it.
func (c *Cache) Store(key string, e *Entry) {
	if c == nil || e == nil || len(key) < 3 || c.dir == "" || c.noWrite.Load() {
		return
	}
	var b bytes.Buffer
	b.WriteString(magic)
	if err := gob.NewEncoder(&b).Encode(e); err != nil {
		return
	}
	s := sha256.Sum256(b.Bytes())
	b.Write(s[:])
	p := entryPath(c.dir, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.noWrite.Store(true)
		return
	}
	if err := fsutil.WriteFileAtomic(p, b.Bytes(), 0o644); err != nil {
		c.noWrite.Store(true)
		return
	}
	c.stored.Add(1)
	if m := c.max.Load(); m > 0 {
		trim(filepath.Dir(p), m/shares, p)
	}
}

// trim keeps the entries of one subdirectory to limit bytes: when they
// pass it, the least recently used go (oldest modification time first,
// keep last) until 80 % of limit is left. Another run may trim the same
// directory at once; an entry it removed first is skipped, and a reader of
// a removed entry sees a miss.
func trim(dir string, limit int64, keep string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path  string
		size  int64
		mtime time.Time
	}
	var files []file
	var total int64
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue // an entry another run is still writing
		}
		files = append(files, file{filepath.Join(dir, e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	if total <= limit {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.mtime.Compare(b.mtime) })
	for _, f := range files {
		if total <= limit*8/10 {
			break
		}
		if f.path == keep {
			continue
		}
		if err := os.Remove(f.path); err == nil || errors.Is(err, os.ErrNotExist) {
			total -= f.size
		}
	}
}

// LookupValue decodes into v (a pointer) the value StoreValue kept under
// key, and reports whether there was one that decodes. Such a value
// depends on nothing but its key (the key names every input), so no file
// is read to check it.
func (c *Cache) LookupValue(key string, v any) bool {
	e := c.Lookup(key, func(p string) string { return p }, "")
	return e != nil && gob.NewDecoder(bytes.NewReader(e.Data)).Decode(v) == nil
}

// StoreValue keeps v, gob-encoded, under key (see LookupValue).
func (c *Cache) StoreValue(key string, v any) {
	if c == nil {
		return
	}
	var b bytes.Buffer
	if gob.NewEncoder(&b).Encode(v) == nil {
		c.Store(key, &Entry{Data: b.Bytes()})
	}
}

// Writable reports whether the cache stores results (a writable directory
// was given and no write has failed).
func (c *Cache) Writable() bool { return c != nil && c.dir != "" && !c.noWrite.Load() }

// WriteFailed reports whether storing a result failed (the cache directory
// is not writable, or the disk is full): the run went on without storing.
func (c *Cache) WriteFailed() bool { return c != nil && c.noWrite.Load() }

// Stats returns the number of hits, misses and stored entries so far.
func (c *Cache) Stats() (hits, misses, stored int64) {
	if c == nil {
		return 0, 0, 0
	}
	return c.hits.Load(), c.misses.Load(), c.stored.Load()
}

// SumFile hashes the content of the file p. Files whose real path is not
// under volatile are hashed once per run (they are the tree, the build and
// the compiler's headers, which no run changes while it reads them).
func (c *Cache) SumFile(p, volatile string) (Sum, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return Sum{}, err
	}
	st, err := os.Stat(real)
	if err != nil {
		return Sum{}, err
	}
	if !st.Mode().IsRegular() {
		return Sum{}, errors.New("not a regular file")
	}
	memo := volatile == "" || !strings.HasPrefix(real, volatile+string(filepath.Separator))
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	if memo {
		c.mu.Lock()
		m, ok := c.memo[real]
		c.mu.Unlock()
		if ok && m.size == st.Size() && m.mtime == st.ModTime().UnixNano() && m.ino == ino {
			return m.sum, nil
		}
	}
	f, err := os.Open(real)
	if err != nil {
		return Sum{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Sum{}, err
	}
	var s Sum
	copy(s[:], h.Sum(nil))
	if memo {
		c.mu.Lock()
		c.memo[real] = memoSum{size: st.Size(), mtime: st.ModTime().UnixNano(), ino: ino, sum: s}
		c.mu.Unlock()
	}
	return s, nil
}

// ParseDeps reads a make-style dependency file ("out.o: a.c b.h \") and
// returns the files, in order, without duplicates.
func ParseDeps(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\\\n", " ")
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(s, "\n") {
		_, rest, ok := strings.Cut(line, ": ")
		if !ok {
			if strings.HasSuffix(strings.TrimSpace(line), ":") {
				continue
			}
			rest = line
		}
		// escaped spaces ("a\ b.h") stay in one name
		rest = strings.ReplaceAll(rest, "\\ ", "\x00")
		for _, f := range strings.Fields(rest) {
			f = strings.ReplaceAll(f, "\x00", " ")
			if f == "" || strings.HasSuffix(f, ":") || seen[f] {
				continue
			}
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
