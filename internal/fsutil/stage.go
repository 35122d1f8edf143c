package fsutil

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kprewrite/kprewrite/internal/kperr"
)

// CheckWritable refuses an output path that exists and is not a regular
// file: a symbolic link (kprewrite never writes through or over one), a
// device such as /dev/null, a FIFO, a socket or a directory. A path that
// does not exist yet is fine.
func CheckWritable(path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: kprewrite does not write over links; name the file itself", path)
	case st.IsDir():
		return fmt.Errorf("%s is a directory: name a file to write", path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (a device, FIFO or socket): kprewrite writes only regular files", path)
	}
	return nil
}

// Resolve returns the absolute form of path with every symbolic link of its
// existing part resolved; the part that does not exist yet is appended as
// it is. Two paths that name one file resolve to the same string.
func Resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	p := abs
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs, nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// Within reports whether path is dir or lies below it, once symbolic links
// are resolved on both sides.
func Within(dir, path string) (bool, error) {
	d, err := Resolve(dir)
	if err != nil {
		return false, err
	}
	p, err := Resolve(path)
	if err != nil {
		return false, err
	}
	return p == d || strings.HasPrefix(p, d+string(filepath.Separator)), nil
}

// Stage writes a set of files all or nothing. Each file is first written
// to a temporary directory inside its target's directory (so the final
// rename stays on one file system); Commit renames them all into place once
// every one is written, and Abort (safe to defer: it does nothing after a
// successful Commit) removes whatever was staged. A cancelled context stops
// Add and Commit before they change anything more.
type Stage struct {
	ctx     context.Context
	tmp     map[string]string // target directory -> its staging directory
	files   []staged
	targets map[string]bool // resolved targets, to refuse one written twice
}

type staged struct{ tmp, target string }

// NewStage returns an empty stage; ctx may be nil.
func NewStage(ctx context.Context) *Stage {
	if ctx == nil {
		ctx = context.Background()
	}
	return &Stage{ctx: ctx, tmp: map[string]string{}, targets: map[string]bool{}}
}

// Add stages data to be written to path with mode perm. It refuses a path
// that CheckWritable refuses or that was already staged.
func (s *Stage) Add(path string, data []byte, perm os.FileMode) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := CheckWritable(path); err != nil {
		return err
	}
	key, err := Resolve(path)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if s.targets[key] {
		return fmt.Errorf("%s would be written twice: give each output its own name", path)
	}
	dir := filepath.Dir(path)
	tmpDir, ok := s.tmp[dir]
	if !ok {
		tmpDir, err = os.MkdirTemp(dir, ".kprewrite-stage-")
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		s.tmp[dir] = tmpDir
	}
	tmp := filepath.Join(tmpDir, fmt.Sprintf("%d-%s", len(s.files), filepath.Base(path)))
	if err := os.WriteFile(tmp, data, perm); err != nil {
		if diskFull(err) {
			return kperr.Diskf(err, "cannot write %s", path)
		}
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, perm); err != nil { // as asked, whatever the umask
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	s.targets[key] = true
	s.files = append(s.files, staged{tmp: tmp, target: path})
	return nil
}

// Commit renames every staged file into place and removes the staging
// directories. A target that became a link or a special file since Add is
// refused before anything is renamed.
func (s *Stage) Commit() error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	for _, f := range s.files {
		if err := CheckWritable(f.target); err != nil {
			return err
		}
	}
	for _, f := range s.files {
		if err := os.Rename(f.tmp, f.target); err != nil {
			// The target was writable when staged: the file system
			// changed under the run.
			return kperr.Diskf(err, "cannot write %s", f.target)
		}
	}
	s.files = nil
	s.Abort()
	return nil
}

// diskFull reports whether err is the file system running out of room or
// failing, rather than a place the user named that cannot be written.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EIO)
}

// Abort removes the staging directories and what they hold.
func (s *Stage) Abort() {
	for dir, tmp := range s.tmp {
		os.RemoveAll(tmp)
		delete(s.tmp, dir)
	}
	s.files = nil
}
