package patch

import (
	"fmt"
	pathpkg "path"
	"strings"

	"github.com/kprewrite/kprewrite/tree"
)

// MaxFuzz is the largest fuzz factor Apply uses, as GNU patch's default.
const MaxFuzz = 2

// FileResult is one file of a patch applied in memory.
type FileResult struct {
	Path     string
	Old, New []byte // Old is nil for a new file, New is nil for a deleted file
	Notes    []string
}

// ApplyError is a hunk (or file) that does not apply to the tree.
type ApplyError struct {
	Path string
	Hunk int // 1-based, 0 for a file-level problem
	Msg  string
}

func (e *ApplyError) Error() string {
	if e.Hunk > 0 {
		return fmt.Sprintf("%s: hunk #%d does not apply: %s", e.Path, e.Hunk, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Apply applies every file diff of p to the files of fs and returns the
// results in patch order. fs is not changed.
func (p *Patch) Apply(fs tree.FS) ([]*FileResult, error) {
	var out []*FileResult
	seen := map[string]bool{}
	deleted := map[string]bool{} // files the patch deletes
	for _, f := range p.Files {
		if f.IsDelete() {
			deleted[f.Path()] = true
		}
	}
	for _, f := range p.Files {
		path := f.Path()
		if seen[path] {
			return nil, &ApplyError{Path: path, Msg: "appears twice in one patch; merge its diffs"}
		}
		seen[path] = true
		r := &FileResult{Path: path}
		if f.IsNew() {
			if fs.Exists(path) {
				return nil, &ApplyError{Path: path, Msg: "patch creates it, but it already exists in the tree"}
			}
			if isDir(fs, path) {
				return nil, &ApplyError{Path: path, Msg: "patch creates it as a file, but it is a directory in the tree"}
			}
			for dir := pathpkg.Dir(path); dir != "."; dir = pathpkg.Dir(dir) {
				if fs.Exists(dir) && !deleted[dir] {
					return nil, &ApplyError{Path: path, Msg: fmt.Sprintf("patch creates it below %s, which is a file in the tree", dir)}
				}
			}
		} else {
			old, err := fs.ReadFile(path)
			if err != nil {
				return nil, &ApplyError{Path: path, Msg: "patch changes it, but it is missing from the tree"}
			}
			r.Old = old
		}
		nw, notes, err := ApplyFile(f, r.Old)
		if err != nil {
			return nil, err
		}
		r.Notes = notes
		if !f.IsDelete() {
			r.New = nw
			if r.New == nil {
				r.New = []byte{}
			}
		}
		out = append(out, r)
	}
	// Within the patch itself: a file created where another one of its
	// files needs a directory.
	for _, f := range p.Files {
		if f.IsDelete() {
			continue
		}
		for dir := pathpkg.Dir(f.Path()); dir != "."; dir = pathpkg.Dir(dir) {
			if seen[dir] && !deleted[dir] {
				return nil, &ApplyError{Path: f.Path(), Msg: fmt.Sprintf("patch creates it below %s, which the same patch makes a file", dir)}
			}
		}
	}
	return out, nil
}

// isDir reports whether rel is a directory as fs sees it: a directory of
// the tree, or one that files an overlay adds live in.
func isDir(fs tree.FS, rel string) bool {
	switch fs := fs.(type) {
	case *tree.Overlay:
		for _, p := range fs.Changed() {
			if strings.HasPrefix(p, rel+"/") && !fs.Deleted(p) {
				return true
			}
		}
		return isDir(fs.Base, rel)
	case interface{ IsDir(string) bool }:
		return fs.IsDir(rel)
	}
	return false
}

// text is file content as lines plus whether the last line ends in a newline.
type text struct {
	lines     []string
	noNewline bool
}

func splitText(b []byte) text {
	if len(b) == 0 {
		return text{}
	}
	s := string(b)
	t := text{}
	if !strings.HasSuffix(s, "\n") {
		t.noNewline = true
	} else {
		s = s[:len(s)-1]
	}
	t.lines = strings.Split(s, "\n")
	return t
}

func (t text) bytes() []byte {
	if len(t.lines) == 0 {
		return []byte{}
	}
	s := strings.Join(t.lines, "\n")
	if !t.noNewline {
		s += "\n"
	}
	return []byte(s)
}

// ApplyFile applies the hunks of f to old and returns the new content and
// patch(1)-style notes about offsets and fuzz.
func ApplyFile(f *File, old []byte) ([]byte, []string, error) {
	path := f.Path()
	src := splitText(old)
	var out []string
	var notes []string
	pos := 0   // next unconsumed line of src
	delta := 0 // accumulated offset of earlier hunks
	newNoNewline := src.noNewline
	for hi, h := range f.Hunks {
		want := h.OldStart - 1 + delta
		if h.OldLines == 0 {
			want = h.OldStart + delta
		}
		at, fuzz, ok := locate(src.lines, h, want, pos)
		if !ok {
			return nil, nil, &ApplyError{Path: path, Hunk: hi + 1, Msg: fmt.Sprintf("its context does not match near line %d (is the tree at the version the patch was made for?)", h.OldStart)}
		}
		if at != want || fuzz > 0 {
			var parts []string
			if at != want {
				n := at - want
				unit := "lines"
				if n == 1 || n == -1 {
					unit = "line"
				}
				parts = append(parts, fmt.Sprintf("offset %d %s", n, unit))
			}
			if fuzz > 0 {
				parts = append(parts, fmt.Sprintf("fuzz %d", fuzz))
			}
			notes = append(notes, fmt.Sprintf("%s: hunk #%d succeeded at %d (%s)", path, hi+1, at+1, strings.Join(parts, ", ")))
		}
		delta += at - want
		// With fuzz, the dropped context lines stay as they are in src.
		lead, trail := fuzzTrim(h, fuzz)
		body := h.Lines[lead : len(h.Lines)-trail]
		out = append(out, src.lines[pos:at+lead]...)
		consumed := at + lead
		for _, l := range body {
			switch l.Op {
			case Context:
				out = append(out, src.lines[consumed])
				consumed++
			case Delete:
				consumed++
			case Insert:
				out = append(out, l.Text)
			}
		}
		pos = consumed
		if pos == len(src.lines) && trail == 0 {
			// The hunk reaches the end of the file: it decides the final newline.
			newNoNewline = false
			for i := len(body) - 1; i >= 0; i-- {
				if body[i].Op != Delete {
					newNoNewline = body[i].NoNewline
					break
				}
			}
		}
	}
	out = append(out, src.lines[pos:]...)
	if f.IsDelete() {
		if len(out) != 0 {
			return nil, nil, &ApplyError{Path: path, Msg: "patch deletes the file, but the file has lines the patch does not list"}
		}
		return nil, notes, nil
	}
	res := text{lines: out, noNewline: newNoNewline && len(out) > 0}
	return res.bytes(), notes, nil
}

// fuzzTrim returns how many leading and trailing context lines fuzz f drops.
func fuzzTrim(h *Hunk, f int) (lead, trail int) {
	for lead < f && lead < len(h.Lines) && h.Lines[lead].Op == Context {
		lead++
	}
	for trail < f && trail < len(h.Lines)-lead && h.Lines[len(h.Lines)-1-trail].Op == Context {
		trail++
	}
	return lead, trail
}

// locate finds where the old side of h matches src, trying the expected
// line first, then growing offsets, then fuzz 1 and 2. It returns the index
// where the untrimmed hunk starts (the trimmed part starts lead lines later).
func locate(src []string, h *Hunk, want, min int) (at, fuzz int, ok bool) {
	for fuzz = 0; fuzz <= MaxFuzz; fuzz++ {
		lead, trail := fuzzTrim(h, fuzz)
		if fuzz > 0 && lead == 0 && trail == 0 {
			break // no context to drop: more fuzz cannot help
		}
		var old []string
		for _, l := range h.Lines[lead : len(h.Lines)-trail] {
			if l.Op != Insert {
				old = append(old, l.Text)
			}
		}
		start := want + lead
		// A hunk with leading context at line 1 or trailing context at EOF
		// must stay anchored there without fuzz, as patch requires.
		for off := 0; ; off++ {
			tried := false
			for _, cand := range []int{start - off, start + off} {
				if off == 0 && cand != start {
					continue
				}
				if cand < min || cand+len(old) > len(src) {
					continue
				}
				tried = true
				if matchAt(src, old, cand) {
					return cand - lead, fuzz, true
				}
			}
			if !tried && (start-off < min) && (start+off+len(old) > len(src)) {
				break
			}
			if off > len(src)+1 {
				break
			}
		}
	}
	return 0, 0, false
}

func matchAt(src, old []string, at int) bool {
	for i, l := range old {
		if src[at+i] != l {
			return false
		}
	}
	return true
}
