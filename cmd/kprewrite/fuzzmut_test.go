package main

// Structure-aware mutations of patches for FuzzPlan.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/tree"
)

// The mutations of FuzzPlan's programs: three bytes each, an operation and
// two arguments that pick what it applies to.
const (
	opDropHunk = iota // drop a hunk of the patch
	opRetype          // change a member's type
	opWidth           // change (or add) a member's bitfield width
	opRename          // rename a member (odd argument: its uses too)
	opInsert          // insert a member at a position of a struct
	opDelete          // delete a member
	opUse             // make a member access use another member
	opAddUse          // add a statement that writes or reads a member
	opTouch           // draw another header of the tree into the patch
	opMove            // move a member to another position of its struct
	opDupLine         // duplicate a line
	numOps
)

// fuzzTypes are the types mutations give members: the miniature trees'
// own types, some the trees lack, and sizes of every kind.
var fuzzTypes = []string{"u8", "u16", "u32", "u64", "s8", "int", "bool", "unsigned int", "unsigned long",
	"long", "char", "void *", "struct list_head", "spinlock_t", "struct port *", "unsigned char", "atomic_t", "u8 *"}

// mutPatch is a patch being mutated as the post-images of the files it
// changes, so that whatever the mutations, it applies to the tree.
type mutPatch struct {
	tree    *tree.Tree
	mail    *patch.Mail
	old     map[string][]byte // nil: a new file
	cur     map[string][]byte // nil: a deleted file
	headers []string          // headers of the tree opTouch may draw in
	n       int               // members inserted so far
}

// newMutPatch applies the seed patch to the tree and returns it as the
// post-images of its files.
func newMutPatch(tr *tree.Tree, seed []byte, headers []string) (*mutPatch, error) {
	set, err := patch.Read("seed", seed, patch.Options{Strip: -1})
	if err != nil {
		return nil, err
	}
	mp := &mutPatch{tree: tr, old: map[string][]byte{}, cur: map[string][]byte{}, headers: headers}
	for _, p := range set.Patches {
		if mp.mail == nil {
			mp.mail = p.Mail
		}
		res, err := p.Apply(mp.overlay())
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if _, ok := mp.old[r.Path]; !ok {
				mp.old[r.Path] = r.Old
			}
			mp.cur[r.Path] = r.New
		}
	}
	return mp, nil
}

func (mp *mutPatch) overlay() *tree.Overlay {
	ov := tree.NewOverlay(mp.tree)
	for p, d := range mp.cur {
		if d == nil {
			ov.Delete(p)
		} else {
			ov.Set(p, d)
		}
	}
	return ov
}

// paths returns the files of the patch in order, those with the given
// suffixes only (none: all), and only existing post-images.
func (mp *mutPatch) paths(suffixes ...string) []string {
	var out []string
	for p, d := range mp.cur {
		if d == nil {
			continue
		}
		if len(suffixes) == 0 || slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(p, s) }) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// fuzzMember is a member of a struct of a post-image.
type fuzzMember struct {
	path string
	st   *ast.Struct
	m    *ast.Member // nil: the end of the struct
}

// members returns every named member of every named struct in the
// post-images; with ends, also one entry per struct for its end.
func (mp *mutPatch) members(ends bool) []fuzzMember {
	var out []fuzzMember
	for _, p := range mp.paths(".h", ".c") {
		af := ast.Parse(p, mp.cur[p])
		for _, s := range af.Structs {
			if s.Name == "" {
				continue
			}
			for _, m := range s.Members {
				if m.Name != "" && m.Macro == "" && m.Decl.End > m.Decl.Off {
					out = append(out, fuzzMember{p, s, m})
				}
			}
			if ends {
				out = append(out, fuzzMember{p, s, nil})
			}
		}
	}
	return out
}

// edit replaces src[off:end] of path with text.
func (mp *mutPatch) edit(path string, off, end int, text string) {
	src := mp.cur[path]
	mp.cur[path] = slices.Concat(src[:off], []byte(text), src[end:])
}

// lineStart is the offset of the start of the line holding off.
func lineStart(src []byte, off int) int { return bytes.LastIndexByte(src[:off], '\n') + 1 }

var accessRE = regexp.MustCompile(`\b([A-Za-z_]\w*)(->|\.)([A-Za-z_]\w*)\b`)

// run applies a program of mutations.
func (mp *mutPatch) run(prog []byte) {
	for i := 0; i+2 < len(prog); i += 3 {
		mp.apply(prog[i]%numOps, int(prog[i+1]), int(prog[i+2]))
	}
}

func (mp *mutPatch) apply(op byte, a, b int) {
	switch op {
	case opDropHunk:
		var files []*patch.File
		for _, p := range mp.paths() {
			if d := patch.Diff(p, mp.old[p], mp.cur[p]); d != nil && mp.old[p] != nil && len(d.Hunks) > 0 {
				files = append(files, d)
			}
		}
		if len(files) == 0 {
			return
		}
		d := files[a%len(files)]
		d.Hunks = slices.Delete(d.Hunks, b%len(d.Hunks), b%len(d.Hunks)+1)
		if nw, _, err := patch.ApplyFile(d, mp.old[d.Path()]); err == nil {
			mp.cur[d.Path()] = nw
		}
	case opRetype, opWidth, opRename, opDelete, opMove:
		ms := mp.members(false)
		if len(ms) == 0 {
			return
		}
		fm := ms[a%len(ms)]
		src := mp.cur[fm.path]
		decl := string(src[fm.m.Decl.Off:fm.m.Decl.End])
		shared := 0
		for _, o := range fm.st.Members {
			if o.Decl == fm.m.Decl {
				shared++
			}
		}
		nameRE := regexp.MustCompile(`\b` + regexp.QuoteMeta(fm.m.Name) + `\b(\s*:\s*[^,;]+)?`)
		switch op {
		case opRetype:
			if shared > 1 {
				return
			}
			nd := fuzzTypes[b%len(fuzzTypes)] + " " + fm.m.Name
			for _, dim := range fm.m.Array {
				nd += "[" + dim + "]"
			}
			if fm.m.Bits != "" && b&1 == 0 {
				nd += ":" + fm.m.Bits
			}
			mp.edit(fm.path, fm.m.Decl.Off, fm.m.Decl.End, nd+";")
		case opWidth:
			w := fmt.Sprintf("%s:%d", fm.m.Name, b%40)
			mp.edit(fm.path, fm.m.Decl.Off, fm.m.Decl.End, nameRE.ReplaceAllLiteralString(decl, w))
		case opRename:
			nn := fmt.Sprintf("%s_%d", fm.m.Name, b%4)
			if other := fm.st.Members[b%len(fm.st.Members)]; b%8 >= 4 && other.Name != "" {
				nn = other.Name // a duplicate member
			}
			mp.edit(fm.path, fm.m.Decl.Off, fm.m.Decl.End, regexp.MustCompile(`\b`+regexp.QuoteMeta(fm.m.Name)+`\b`).ReplaceAllLiteralString(decl, nn))
			if b&1 == 1 {
				useRE := regexp.MustCompile(`(->|\.)` + regexp.QuoteMeta(fm.m.Name) + `\b`)
				for _, p := range mp.paths(".c", ".h") {
					mp.cur[p] = useRE.ReplaceAll(mp.cur[p], []byte("${1}"+nn))
				}
			}
		case opDelete, opMove:
			var text string
			if shared > 1 {
				// drop one declarator of "u8 a:1, b:1;"
				mp.edit(fm.path, fm.m.Decl.Off, fm.m.Decl.End, dropDeclarator(decl, nameRE))
				text = "\t" + fm.m.Type + " " + fm.m.Name
				if fm.m.Bits != "" {
					text += ":" + fm.m.Bits
				}
				text += ";\n"
			} else {
				ls := lineStart(src, fm.m.Decl.Off)
				end := fm.m.Decl.End
				if nl := bytes.IndexByte(src[end:], '\n'); nl >= 0 && len(bytes.TrimSpace(src[end:end+nl])) == 0 {
					end += nl + 1
				}
				text = string(src[ls:end])
				if !strings.HasSuffix(text, "\n") {
					text += "\n"
				}
				mp.edit(fm.path, ls, end, "")
			}
			if op == opMove {
				mp.insert(fm.path, fm.st.Name, b, text)
			}
		}
	case opInsert:
		ms := mp.members(true)
		if len(ms) == 0 {
			return
		}
		fm := ms[a%len(ms)]
		mp.n++
		var decl string
		switch b % 4 {
		case 0:
			decl = fmt.Sprintf("\t%s fz%d;\n", fuzzTypes[(b/4)%len(fuzzTypes)], mp.n)
		case 1:
			decl = fmt.Sprintf("\tu8 fz%d:%d;\n", mp.n, 1+(b/4)%8)
		case 2:
			decl = fmt.Sprintf("\tunsigned int fz%d:1;\n", mp.n)
		case 3:
			decl = fmt.Sprintf("\t%s fz%d[%d];\n", fuzzTypes[(b/4)%len(fuzzTypes)], mp.n, 1+b%5)
		}
		off := fm.st.Body.End
		if fm.m != nil {
			off = fm.m.Decl.Off
		}
		off = lineStart(mp.cur[fm.path], off)
		mp.edit(fm.path, off, off, decl)
	case opUse, opAddUse:
		type site struct {
			path string
			loc  []int
		}
		var sites []site
		for _, p := range mp.paths(".c") {
			af := ast.Parse(p, mp.cur[p])
			for _, loc := range accessRE.FindAllSubmatchIndex(mp.cur[p], -1) {
				if fn := af.FuncAt(loc[0]); fn != nil {
					sites = append(sites, site{p, loc})
				}
			}
		}
		ms := mp.members(false)
		if len(sites) == 0 || len(ms) == 0 {
			return
		}
		s := sites[a%len(sites)]
		name := ms[b%len(ms)].m.Name
		if mp.n > 0 && b%5 == 0 {
			name = fmt.Sprintf("fz%d", mp.n)
		}
		src := mp.cur[s.path]
		if op == opUse {
			mp.edit(s.path, s.loc[6], s.loc[7], name)
			return
		}
		// a statement after the line of the access, on the same object
		nl := bytes.IndexByte(src[s.loc[1]:], '\n')
		if nl < 0 {
			return
		}
		at := s.loc[1] + nl + 1
		obj := string(src[s.loc[2]:s.loc[3]]) + string(src[s.loc[4]:s.loc[5]])
		var text string
		switch b % 4 {
		case 0:
			text = fmt.Sprintf("\t%s%s = %d;\n", obj, name, b%3)
		case 1:
			text = fmt.Sprintf("\tif (%s%s)\n\t\treturn;\n", obj, name)
		case 2:
			text = fmt.Sprintf("\t%s%s += %d;\n", obj, name, b%3)
		case 3:
			text = fmt.Sprintf("\tpr_info(\"%%d\\n\", (int)%s%s);\n", obj, name)
		}
		mp.edit(s.path, at, at, text)
	case opTouch:
		var free []string
		for _, h := range mp.headers {
			if _, ok := mp.cur[h]; !ok {
				free = append(free, h)
			}
		}
		if len(free) == 0 {
			return
		}
		h := free[a%len(free)]
		data, err := mp.tree.ReadFile(h)
		if err != nil {
			return
		}
		mp.old[h], mp.cur[h] = data, data
	case opDupLine:
		ps := mp.paths()
		if len(ps) == 0 {
			return
		}
		p := ps[a%len(ps)]
		src := mp.cur[p]
		lines := bytes.SplitAfter(src, []byte("\n"))
		i := b % len(lines)
		mp.cur[p] = slices.Concat(slices.Concat(lines[:i+1]...), lines[i], slices.Concat(lines[i+1:]...))
	}
}

// dropDeclarator removes the declarator nameRE matches from a declaration
// of several ("u8 a:1, b:1, c:1;"), with the comma that separates it.
func dropDeclarator(decl string, nameRE *regexp.Regexp) string {
	loc := nameRE.FindStringIndex(decl)
	if loc == nil {
		return decl
	}
	// the comma after it, past blanks and comments
	skip := func(i int) int {
		for i < len(decl) {
			switch {
			case decl[i] == ' ' || decl[i] == '\t' || decl[i] == '\n':
				i++
			case strings.HasPrefix(decl[i:], "/*"):
				end := strings.Index(decl[i+2:], "*/")
				if end < 0 {
					return len(decl)
				}
				i += end + 4
			default:
				return i
			}
		}
		return i
	}
	if j := skip(loc[1]); j < len(decl) && decl[j] == ',' {
		return decl[:loc[0]] + decl[skip(j+1):]
	}
	// the last one: the comma before it
	i := strings.LastIndexByte(decl[:loc[0]], ',')
	if i < 0 {
		return decl
	}
	return decl[:i] + decl[loc[1]:]
}

// insert puts a declaration line at position pos of struct name in path.
func (mp *mutPatch) insert(path, name string, pos int, text string) {
	af := ast.Parse(path, mp.cur[path])
	for _, s := range af.Structs {
		if s.Name != name {
			continue
		}
		off := s.Body.End
		if k := pos % (len(s.Members) + 1); k < len(s.Members) {
			off = s.Members[k].Decl.Off
		}
		off = lineStart(mp.cur[path], off)
		mp.edit(path, off, off, text)
		return
	}
}

// render returns the mutated patch, nil when it changes nothing.
func (mp *mutPatch) render() []byte {
	p := &patch.Patch{Mail: mp.mail}
	var paths []string
	for path := range mp.cur {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	for _, path := range paths {
		if d := patch.Diff(path, mp.old[path], mp.cur[path]); d != nil {
			p.Files = append(p.Files, d)
		}
	}
	if len(p.Files) == 0 {
		return nil
	}
	return patch.Render(p, patch.RenderOptions{})
}

// TestMutPatchApplies checks what FuzzPlan relies on: whatever the program,
// the mutated patch reads back and applies to the tree, and the mutations
// do change the seeds.
func TestMutPatchApplies(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range planTrees {
		dir := filepath.Join("../../testdata/kernels", name)
		tr, err := tree.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		seeds, _ := filepath.Glob(dir + "/patches/*.patch")
		changed := 0
		for i := range 60 {
			seed, err := os.ReadFile(seeds[i%len(seeds)])
			if err != nil {
				t.Fatal(err)
			}
			mp, err := newMutPatch(tr, seed, []string{"include/linux/types.h"})
			if err != nil {
				t.Fatalf("%s: %v", seeds[i%len(seeds)], err)
			}
			orig := mp.render()
			prog := make([]byte, 3*(1+i%6))
			for j := range prog {
				prog[j] = byte(rng.UintN(256))
			}
			mp.run(prog)
			text := mp.render()
			if text == nil {
				continue
			}
			if !bytes.Equal(text, orig) {
				changed++
			}
			set, err := patch.Read("mutated", text, patch.Options{Strip: -1})
			if err != nil {
				t.Fatalf("%s %v: the mutated patch does not read: %v\n%s", name, prog, err, text)
			}
			for _, p := range set.Patches {
				if _, err := p.Apply(tr); err != nil {
					t.Fatalf("%s %v: the mutated patch does not apply: %v\n%s", name, prog, err, text)
				}
			}
		}
		if changed < 30 {
			t.Errorf("%s: only %d of 60 programs changed the seed", name, changed)
		}
	}
}

// TestDropDeclarator checks the removal of one declarator of several.
func TestDropDeclarator(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ decl, name, want string }{
		{"u8 a:1, b:1, c:1;", "a", "u8 b:1, c:1;"},
		{"u8 a:1, b:1, c:1;", "b", "u8 a:1, c:1;"},
		{"u8 a:1, b:1, c:1;", "c", "u8 a:1, b:1;"},
		{"u8 up:1,\t\t/* link */\n\t   admin:1;\t/* admin */", "up", "u8 admin:1;\t/* admin */"},
		{"u8 up:1,\t\t/* link */\n\t   admin:1;", "admin", "u8 up:1;"},
		{"int x;", "y", "int x;"},
	} {
		re := regexp.MustCompile(`\b` + c.name + `\b(\s*:\s*[^,;]+)?`)
		if got := dropDeclarator(c.decl, re); got != c.want {
			t.Errorf("dropDeclarator(%q, %s) = %q, want %q", c.decl, c.name, got, c.want)
		}
	}
}
