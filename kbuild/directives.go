package kbuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
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
	out := map[string][]string{}
	if len(names) == 0 {
		return out, nil
	}
	nameRE := ast.NamesRE(names)
	var mu sync.Mutex
	err := e.scanSources(func(rel string) bool { return true }, nameRE, func(rel string, data []byte) {
		for _, m := range DirectiveLines(data, nameRE) {
			mu.Lock()
			out[m.Name] = append(out[m.Name], fmt.Sprintf("%s:%d", rel, m.Line))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// StaticKeyDefiners finds the .c files of the tree (as DirectiveMentions
// reads it) that define one of the static keys or static calls names
// (ast.StaticKeyDefinitions), sorted per name. Where a jump label's key
// lives, vmlinux or which module, decides whether a livepatch may keep it.
func (e *Env) StaticKeyDefiners(names []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(names) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var mu sync.Mutex
	err := e.scanSources(func(rel string) bool { return strings.HasSuffix(rel, ".c") }, ast.NamesRE(names), func(rel string, data []byte) {
		for k := range ast.StaticKeyDefinitions(data) {
			if want[k] {
				mu.Lock()
				out[k] = append(out[k], rel)
				mu.Unlock()
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// scanSources calls found, from several goroutines, with every source file
// of the tree that keep accepts and whose text re matches.
func (e *Env) scanSources(keep func(rel string) bool, re *regexp.Regexp, found func(rel string, data []byte)) error {
	root, arch := e.Tree.Root(), e.Make.SrcArch()
	files, err := listSources(e.Context(), root, arch)
	if err != nil {
		return e.environment(fmt.Errorf("listing the tree's sources: %w", err))
	}
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
				found(rel, data)
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
	return e.Context().Err()
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
