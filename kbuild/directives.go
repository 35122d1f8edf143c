package kbuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

	"github.com/kprewrite/kprewrite/ast"
)

// DirectiveMentions finds, in every .c, .h and .S file of the tree (the
// include graph's files: no Documentation, tools or scripts, no other
// architecture), the preprocessor lines that name one of names: a test of
// whether it is defined (#ifdef, #ifndef, defined()), a use in an #if or
// #elif, a #define or an #undef. It returns "file:line" per name, sorted.
//
// A macro the upstream change removes from a header can stay defined
// only where nothing asks whether it is: code that compiles without it
// upstream cannot use it otherwise, but a directive can choose code by
// it. The scan reads the whole tree (seconds on a warm page cache).
func (e *Env) DirectiveMentions(names []string) (map[string][]string, error) {
	if len(names) == 0 {
		return map[string][]string{}, nil
	}
	nameRE := ast.NamesRE(names)
	return e.scanSources(func(rel string) bool { return true }, nameRE, func(rel string, data []byte) (found [][2]string) {
		for _, m := range DirectiveLines(data, nameRE) {
			found = append(found, [2]string{m.Name, fmt.Sprintf("%s:%d", rel, m.Line)})
		}
		return found
	})
}

// scanSources reads, from several goroutines, every source file of the
// tree that keep accepts and whose text re matches, and gathers what
// found says of each: (name, value) pairs, the values sorted per name.
func (e *Env) scanSources(keep func(rel string) bool, re *regexp.Regexp, found func(rel string, data []byte) [][2]string) (map[string][]string, error) {
	root, arch := e.Tree.Root(), e.Make.SrcArch()
	files, err := listSources(e.Context(), root, arch)
	if err != nil {
		return nil, e.environment(fmt.Errorf("listing the tree's sources: %w", err))
	}
	out := map[string][]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan string)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range ch {
				data, err := os.ReadFile(filepath.Join(root, rel))
				if err != nil || !re.Match(data) {
					continue
				}
				pairs := found(rel, data)
				mu.Lock()
				for _, nv := range pairs {
					out[nv[0]] = append(out[nv[0]], nv[1])
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		if e.Context().Err() != nil {
			break
		}
		if keep(f.rel) {
			ch <- f.rel
		}
	}
	close(ch)
	wg.Wait()
	if err := e.Context().Err(); err != nil {
		return nil, err
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// Mention is one preprocessor line that names a macro.
type Mention struct {
	Name string
	Line int // 1-based
}

// directiveRE matches the directives that can name a macro.
var directiveRE = regexp.MustCompile(`^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|define|undef)\b`)

// defineNameRE takes the name a #define line defines.
var defineNameRE = regexp.MustCompile(`^[ \t]*#[ \t]*define[ \t]+(\w+)`)

// DirectiveLines returns the preprocessor lines of src (continuations
// joined) that name a macro nameRE matches, in order: a #define only when
// it defines the macro.
func DirectiveLines(src []byte, nameRE *regexp.Regexp) []Mention {
	var out []Mention
	lines := bytes.Split(src, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		start := i
		l := lines[i]
		for bytes.HasSuffix(bytes.TrimRight(l, " \t\r"), []byte("\\")) && i+1 < len(lines) {
			i++
			l = append(append([]byte(nil), bytes.TrimRight(l, " \t\r\\")...), lines[i]...)
		}
		d := directiveRE.FindSubmatch(l)
		if d == nil {
			continue
		}
		if string(d[1]) == "define" {
			// only the name it defines: a body that names the macro is a
			// use, which code compiling without the macro never expands
			n := defineNameRE.FindSubmatch(l)
			if n == nil || string(nameRE.Find(n[1])) != string(n[1]) {
				continue
			}
			out = append(out, Mention{Name: string(n[1]), Line: start + 1})
			continue
		}
		seen := map[string]bool{}
		for _, m := range nameRE.FindAll(l, -1) {
			if !seen[string(m)] {
				seen[string(m)] = true
				out = append(out, Mention{Name: string(m), Line: start + 1})
			}
		}
	}
	return out
}
