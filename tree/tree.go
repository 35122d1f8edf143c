// Package tree gives read-only access to a kernel source tree and an
// in-memory overlay of changed files on top of it.
//
// Every path is tree-relative and checked: absolute paths, ".." components and
// symbolic links that leave the tree are refused, so a patch can never make
// kprewrite read outside --tree. Nothing here ever writes to the tree.
package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// FS is the read side shared by a Tree and an Overlay.
type FS interface {
	// ReadFile returns the content of a tree-relative file.
	ReadFile(rel string) ([]byte, error)
	// Exists reports whether a tree-relative regular file exists.
	Exists(rel string) bool
}

// Tree is a kernel source directory, opened read-only.
type Tree struct {
	root string // absolute, symlinks resolved
}

// Open opens dir as a tree. It must be an existing directory.
func Open(dir string) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", dir, errors.Unwrap(err))
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tree %s is not a directory", dir)
	}
	return &Tree{root: real}, nil
}

// Root returns the absolute path of the tree.
func (t *Tree) Root() string { return t.root }

// CleanRel validates a tree-relative path from untrusted input (a patch) and
// returns it in clean slash form.
func CleanRel(rel string) (string, error) {
	if rel == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte", rel)
	}
	if path.IsAbs(rel) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("absolute path %s refused: patch paths must be relative to the tree", rel)
	}
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %s refused: '..' would leave the tree", rel)
		}
	}
	c := path.Clean(rel)
	if c == "." {
		return "", fmt.Errorf("path %q names the tree itself", rel)
	}
	return c, nil
}

// Abs returns the absolute path of rel, refusing any path that resolves
// outside the tree (through "..", an absolute path or a symbolic link).
func (t *Tree) Abs(rel string) (string, error) {
	c, err := CleanRel(rel)
	if err != nil {
		return "", err
	}
	p := filepath.Join(t.root, filepath.FromSlash(c))
	// Resolve the longest existing prefix: a new file's parent must also stay inside.
	probe := p
	for {
		real, err := filepath.EvalSymlinks(probe)
		if err == nil {
			if real != t.root && !strings.HasPrefix(real, t.root+string(filepath.Separator)) {
				return "", fmt.Errorf("path %s refused: it resolves outside the tree", rel)
			}
			break
		}
		parent := filepath.Dir(probe)
		if parent == probe || len(parent) < len(t.root) {
			break
		}
		probe = parent
	}
	return p, nil
}

// ReadFile reads a tree-relative file.
func (t *Tree) ReadFile(rel string) ([]byte, error) {
	p, err := t.Abs(rel)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file in the tree", rel)
		}
		return nil, err
	}
	return data, nil
}

// Exists reports whether rel names a regular file inside the tree.
func (t *Tree) Exists(rel string) bool {
	p, err := t.Abs(rel)
	if err != nil {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// IsDir reports whether rel names a directory inside the tree.
func (t *Tree) IsDir(rel string) bool {
	p, err := t.Abs(rel)
	if err != nil {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Overlay is a tree with some files replaced, added or deleted in memory.
// It is how kprewrite sees "the tree with a patch applied" without writing it.
type Overlay struct {
	Base  FS
	files map[string][]byte // nil value: deleted
}

// NewOverlay returns an overlay with no changes on base.
func NewOverlay(base FS) *Overlay {
	return &Overlay{Base: base, files: map[string][]byte{}}
}

// Set replaces (or adds) a file.
func (o *Overlay) Set(rel string, data []byte) { o.files[rel] = data }

// Delete removes a file from the overlay's view.
func (o *Overlay) Delete(rel string) { o.files[rel] = nil }

// Changed returns the paths the overlay changes, sorted.
func (o *Overlay) Changed() []string {
	var out []string
	for p := range o.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Deleted reports whether the overlay deletes rel.
func (o *Overlay) Deleted(rel string) bool {
	d, ok := o.files[rel]
	return ok && d == nil
}

// ReadFile reads rel through the overlay.
func (o *Overlay) ReadFile(rel string) ([]byte, error) {
	if d, ok := o.files[rel]; ok {
		if d == nil {
			return nil, fmt.Errorf("%s: deleted by an earlier patch", rel)
		}
		return d, nil
	}
	return o.Base.ReadFile(rel)
}

// Exists reports whether rel exists through the overlay.
func (o *Overlay) Exists(rel string) bool {
	if d, ok := o.files[rel]; ok {
		return d != nil
	}
	return o.Base.Exists(rel)
}
