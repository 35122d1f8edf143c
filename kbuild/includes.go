package kbuild

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// IncludeGraph is the textual #include graph of a tree: which files name
// which headers. It over-approximates (it ignores #if around #include), which
// is the safe direction for "who can see this header".
type IncludeGraph struct {
	includedBy map[string][]string // header -> files that include it directly
}

// includeGraphVersion names how includes are resolved; a change to the
// resolution rules changes it, so kept graphs are not reused.
const includeGraphVersion = "include-graph-3: -I includes resolved by path suffix, in the subsystem, its parent, then tree-wide"

var includeRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]`)

// skipDirs are top-level directories that are not kernel code.
var skipDirs = map[string]bool{".git": true, "Documentation": true, "tools": true, "scripts": true, "LICENSES": true, "usr": false}

// BuildIncludeGraph scans every .c and .h file under root. It reads the
// whole tree (tens of seconds on a cold page cache), so it stops when ctx
// is canceled.
func BuildIncludeGraph(ctx context.Context, root, arch string) (*IncludeGraph, error) {
	files, err := listSources(ctx, root, arch)
	if err != nil {
		return nil, err
	}
	return scanIncludes(ctx, root, arch, files)
}

// sourceFile is a .c or .h file of the tree, with what identifies its
// content for the result cache.
type sourceFile struct {
	rel   string
	size  int64
	mtime int64
}

// listSources lists the .c, .h and .S files of the kernel's own code under root
// (no Documentation, tools or scripts, and no other architecture's arch/
// directory), in the walk's order.
func listSources(ctx context.Context, root, arch string) ([]sourceFile, error) {
	var files []sourceFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skipDirs[rel] || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			if strings.HasPrefix(rel, "arch/") && strings.Count(rel, "/") == 1 && rel != "arch/"+arch {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".c") || strings.HasSuffix(rel, ".h") || strings.HasSuffix(rel, ".S") {
			f := sourceFile{rel: rel}
			if st, err := d.Info(); err == nil {
				f.size, f.mtime = st.Size(), st.ModTime().UnixNano()
			}
			files = append(files, f)
		}
		return nil
	})
	return files, err
}

// scanIncludes reads files and resolves their #include lines.
func scanIncludes(ctx context.Context, root, arch string, sources []sourceFile) (*IncludeGraph, error) {
	files := make([]string, len(sources))
	for i, f := range sources {
		files[i] = f.rel
	}
	exists := map[string]bool{}
	byBase := map[string][]string{}
	for _, f := range files {
		exists[f] = true
		if strings.HasSuffix(f, ".h") {
			byBase[path.Base(f)] = append(byBase[path.Base(f)], f)
		}
	}
	type edge struct{ from, to string }
	results := make([][]edge, len(files))
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				if ctx.Err() != nil {
					continue // drain
				}
				data, err := os.ReadFile(filepath.Join(root, files[i]))
				if err != nil || !bytes.Contains(data, []byte("include")) {
					continue
				}
				for _, m := range includeRE.FindAllSubmatch(data, -1) {
					name, quoted := string(m[2]), m[1][0] == '"'
					targets := resolveInclude(files[i], name, quoted, arch, exists)
					if len(targets) == 0 {
						targets = viaIncludePath(files[i], name, quoted, byBase[path.Base(name)])
					}
					for _, target := range targets {
						results[i] = append(results[i], edge{files[i], target})
					}
				}
			}
		}()
	}
	for i := range files {
		ch <- i
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g := &IncludeGraph{includedBy: map[string][]string{}}
	for _, es := range results {
		for _, e := range es {
			g.includedBy[e.to] = append(g.includedBy[e.to], e.from)
		}
	}
	return g, nil
}

// resolveInclude maps an #include to the tree files it can name.
func resolveInclude(from, name string, quoted bool, arch string, exists map[string]bool) []string {
	var cands []string
	if quoted {
		cands = append(cands, path.Clean(path.Join(path.Dir(from), name)))
	}
	cands = append(cands,
		"arch/"+arch+"/include/"+name,
		"include/"+name,
		"arch/"+arch+"/include/uapi/"+name,
		"include/uapi/"+name,
	)
	if strings.HasPrefix(name, "asm/") {
		cands = append(cands, "include/asm-generic/"+strings.TrimPrefix(name, "asm/"))
	}
	for _, c := range cands {
		if exists[c] {
			return []string{c} // the first match wins, as in the compiler
		}
	}
	return nil
}

// viaIncludePath resolves an #include that is neither next to the file
// nor in the standard include directories: a Makefile's -I names its
// directory (amdgpu adds -I.../display/dc/inc and a dozen others,
// nouveau's <subdev/mmu.h> is under -I$(src)/include/nvkm, em28xx's
// "m88ds3103.h" under -I drivers/media/dvb-frontends). Without the
// flags, every header whose path ends in the included name may be the
// one: for a quoted name, those of the same subsystem (the first four
// path components, drivers/gpu/drm/amd) and, when none is there, those
// of the whole tree; for a name in angle brackets, those of the whole
// tree. An over-approximation, the safe direction for "who can see this
// header": the compiler then narrows it to real users, and files the
// config does not build are dropped later.
func viaIncludePath(from, name string, quoted bool, cands []string) []string {
	var matching []string
	for _, c := range cands {
		if c == name || strings.HasSuffix(c, "/"+name) {
			matching = append(matching, c)
		}
	}
	if quoted {
		// the subsystem first (four components, drivers/gpu/drm/amd),
		// then its parent (arch/x86/kvm/mmu/mmu.c's "trace.h" is
		// arch/x86/kvm/trace.h under -I arch/x86/kvm, not every trace.h
		// of the tree)
		for n := 4; n >= 3; n-- {
			parts := strings.SplitN(from, "/", n+1)
			if len(parts) != n+1 {
				continue
			}
			scope := strings.Join(parts[:n], "/") + "/"
			var near []string
			for _, c := range matching {
				if strings.HasPrefix(c, scope) {
					near = append(near, c)
				}
			}
			if len(near) > 0 {
				return near
			}
		}
	}
	return matching
}

// Includers returns the .c files that include header, directly or not.
func (g *IncludeGraph) Includers(header string) []string {
	return g.includers(header, ".c")
}

// AsmIncluders returns the assembler sources (.S, linker scripts
// .lds.S included) that include header, directly or through other
// headers: a macro or constant there reaches code no C compile shows.
func (g *IncludeGraph) AsmIncluders(header string) []string {
	return g.includers(header, ".S")
}

// HeaderIncluders returns the headers that include header, directly or
// through other headers.
func (g *IncludeGraph) HeaderIncluders(header string) []string {
	return g.includers(header, ".h")
}

func (g *IncludeGraph) includers(header, ext string) []string {
	seen := map[string]bool{header: true}
	queue := []string{header}
	var out []string
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, f := range g.includedBy[h] {
			if seen[f] {
				continue
			}
			seen[f] = true
			if strings.HasSuffix(f, ext) {
				out = append(out, f)
			}
			// a .c file may itself be included by another one
			queue = append(queue, f)
		}
	}
	sort.Strings(out)
	return out
}
