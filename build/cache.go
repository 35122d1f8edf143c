package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/kprewrite/kprewrite/internal/rcache"
	"github.com/kprewrite/kprewrite/kbuild"
)

// Placeholders for this run's scratch paths in cache keys and entries:
// the same question asked by another Compiler, variant or run hits.
const (
	varPH  = "\x00V\x00"    // the variant's directory (overlay and outputs)
	dirPH  = "\x00DIR\x00"  // the compiler's directory (stub headers)
	workPH = "\x00WORK\x00" // the env's work area (its own builds), named after --cache
)

// cached is what an entry holds besides the object file.
type cached struct {
	Failed       bool
	Diagnostics  []Diagnostic
	Preprocessed []byte
	Object       bool
}

// compileCached answers from the result cache the context carries, else
// compiles and stores the answer. cached says whether it was a hit.
func (c *Compiler) compileCached(ctx context.Context, v *Variant, cmd *kbuild.Command, opt Options) (*Result, bool, error) {
	rc := rcache.From(ctx)
	if rc == nil {
		res, err := c.compileOne(ctx, v, cmd, opt, "")
		return res, false, err
	}
	vdir := filepath.Join(c.Dir, v.Name)
	r := strings.NewReplacer(vdir, varPH, c.Dir, dirPH, c.Env.Work, workPH)
	back := strings.NewReplacer(varPH, vdir, dirPH, c.Dir, workPH, c.Env.Work)
	norm, denorm := r.Replace, back.Replace
	key, err := c.cacheKey(rc, v, cmd, opt, norm)
	if err != nil {
		res, err := c.compileOne(ctx, v, cmd, opt, "")
		return res, false, err
	}
	_, obj := c.paths(v, cmd, opt)
	if e := rc.Lookup(key, denorm, c.Dir); e != nil {
		if res := c.fromEntry(e, cmd, obj, denorm); res != nil {
			return res, true, nil
		}
	}
	dep := obj + ".d"
	res, err := c.compileOne(ctx, v, cmd, opt, dep)
	if err != nil {
		return nil, false, err
	}
	if e := c.toEntry(rc, res, cmd, dep, norm, denorm); e != nil {
		rc.Store(key, e)
	}
	os.Remove(dep)
	return res, false, nil
}

// cacheKey hashes what decides a compile's result before it runs: the
// compiler binary, the command with this run's paths normalized, the
// options, the roots diagnostics are named against, the names of the
// variant's overlay files (which shadow the tree's) and the source as the
// compiler reads it. The headers it reads are checked through the entry's
// dependency list.
func (c *Compiler) cacheKey(rc *rcache.Cache, v *Variant, cmd *kbuild.Command, opt Options, norm func(string) string) (string, error) {
	src, obj := c.paths(v, cmd, opt)
	ovl := c.overlayDir(v)
	args := c.rewriteArgs(cmd, ovl, src, obj, opt)
	comp, err := compilerID(args[0])
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	// The overlay's headers are the question (an oracle asks about one
	// header under several contents): their content is part of the key.
	// Other files (.c) count by name; one a compile includes is checked
	// through the dependency list.
	var names []string
	for f, d := range v.Files {
		switch {
		case d == nil:
			names = append(names, "-"+f)
		case strings.HasSuffix(f, ".c"):
			names = append(names, f)
		default:
			names = append(names, fmt.Sprintf("%s %x", f, sha256.Sum256(d)))
		}
	}
	sort.Strings(names)
	var nargs []string
	for _, a := range args {
		nargs = append(nargs, norm(a))
	}
	return rc.Key([]byte("compile"), []byte(comp), []byte(strings.Join(nargs, "\x00")), []byte(cmd.Dir),
		[]byte(fmt.Sprintf("%v %v %d %s %s", opt.SyntaxOnly, opt.Preprocess, opt.MaxErrors, c.Env.SrcRoot(), c.Env.Tree.Root())),
		[]byte(strings.Join(names, "\x00")), data), nil
}

var compilerIDs sync.Map // name -> identity

// compilerID names the compiler binary by path, size and modification
// time: an upgraded compiler never reads an older one's results.
func compilerID(name string) (string, error) {
	if id, ok := compilerIDs.Load(name); ok {
		return id.(string), nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	id := fmt.Sprintf("%s %d %d", p, st.Size(), st.ModTime().UnixNano())
	compilerIDs.Store(name, id)
	return id, nil
}

// toEntry makes the cache entry of a finished compile: its result with this
// run's paths normalized, its object and the files gcc read. No entry (nil)
// when gcc left no dependency list.
func (c *Compiler) toEntry(rc *rcache.Cache, res *Result, cmd *kbuild.Command, dep string, norm, denorm func(string) string) *rcache.Entry {
	d, err := os.ReadFile(dep)
	if err != nil {
		return nil
	}
	files := rcache.ParseDeps(d)
	if len(files) == 0 {
		return nil
	}
	e := &rcache.Entry{}
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(cmd.Dir, f)
		}
		s, err := rc.SumFile(f, c.Dir)
		if err != nil {
			return nil
		}
		e.Deps = append(e.Deps, rcache.Dep{Path: norm(f), Sum: s})
	}
	cd := cached{Failed: res.Failed, Preprocessed: []byte(norm(string(res.Preprocessed)))}
	if res.Preprocessed == nil {
		cd.Preprocessed = nil
	}
	for _, dg := range res.Diagnostics {
		dg.File, dg.Message = norm(dg.File), norm(dg.Message)
		cd.Diagnostics = append(cd.Diagnostics, dg)
	}
	if res.Object != "" {
		data, err := os.ReadFile(res.Object)
		if err != nil {
			return nil
		}
		e.Object = data
		cd.Object = true
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&cd); err != nil {
		return nil
	}
	e.Data = b.Bytes()
	return e
}

// fromEntry turns an entry back into the result the compile would give,
// writing its object to obj; nil when it cannot (then the file compiles).
func (c *Compiler) fromEntry(e *rcache.Entry, cmd *kbuild.Command, obj string, denorm func(string) string) *Result {
	var cd cached
	if err := gob.NewDecoder(bytes.NewReader(e.Data)).Decode(&cd); err != nil {
		return nil
	}
	res := &Result{Source: cmd.Source, Unit: cmd.Source, Failed: cd.Failed}
	if cmd.IsMod {
		res.Module = cmd.Module
	}
	for _, dg := range cd.Diagnostics {
		dg.File, dg.Message = denorm(dg.File), denorm(dg.Message)
		res.Diagnostics = append(res.Diagnostics, dg)
	}
	if cd.Preprocessed != nil {
		res.Preprocessed = []byte(denorm(string(cd.Preprocessed)))
	}
	if cd.Object {
		if err := os.MkdirAll(filepath.Dir(obj), 0o755); err != nil {
			return nil
		}
		if err := os.WriteFile(obj, e.Object, 0o644); err != nil {
			return nil
		}
		res.Object = obj
	}
	return res
}
