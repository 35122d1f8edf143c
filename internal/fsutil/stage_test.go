package fsutil

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kprewrite/kprewrite/internal/kperr"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	os.WriteFile(reg, []byte("x"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(reg, link)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		reg:                        "",
		filepath.Join(dir, "none"): "",
		link:                       "symbolic link",
		fifo:                       "not a regular file",
		"/dev/null":                "not a regular file",
		dir:                        "is a directory",
	} {
		err := CheckWritable(path)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
		if want != "" && path != dir && path != "/dev/null" {
			// WriteFileAtomic refuses the same, and leaves the path alone
			// (never tried on /dev/null: a regression run as root would
			// replace it).
			before, _ := os.Lstat(path)
			if err := WriteFileAtomic(path, []byte("y"), 0o644); err == nil {
				t.Errorf("WriteFileAtomic %s: no error", path)
			}
			after, _ := os.Lstat(path)
			if before.Mode() != after.Mode() {
				t.Errorf("WriteFileAtomic replaced %s", path)
			}
		}
	}
}

func TestWithin(t *testing.T) {
	root := t.TempDir()
	tr := filepath.Join(root, "tree")
	os.MkdirAll(filepath.Join(tr, "sub"), 0o755)
	os.Symlink(filepath.Join(tr, "sub"), filepath.Join(root, "alias"))
	for path, want := range map[string]bool{
		filepath.Join(tr, "x.patch"):              true,
		filepath.Join(tr, "new/dir/x.patch"):      true,
		tr:                                        true,
		filepath.Join(root, "alias", "x.patch"):   true, // a link into the tree
		filepath.Join(root, "tree2", "x.patch"):   false,
		filepath.Join(tr, "..", "out", "x.patch"): false,
	} {
		got, err := Within(tr, path)
		if err != nil || got != want {
			t.Errorf("Within(%s): %v %v, want %v", path, got, err, want)
		}
	}
}

func TestStageAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	s := NewStage(context.Background())
	defer s.Abort()
	if err := s.Add(filepath.Join(dir, "a.patch"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(filepath.Join(other, "report.txt"), []byte("r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Nothing is in place before Commit, and a name staged twice is refused.
	if err := s.Add(filepath.Join(dir, "x", "..", "a.patch"), []byte("b\n"), 0o644); err == nil || !strings.Contains(err.Error(), "written twice") {
		t.Errorf("second a.patch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.patch")); err == nil {
		t.Errorf("a.patch in place before Commit")
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.patch"}, names(t, dir)); diff != "" {
		t.Errorf("after Commit (-want +got):\n%s", diff)
	}
	if data, _ := os.ReadFile(filepath.Join(other, "report.txt")); string(data) != "r\n" {
		t.Errorf("report %q", data)
	}
	if st, _ := os.Stat(filepath.Join(dir, "a.patch")); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}

	// Abort, or a cancelled context, leaves nothing behind.
	dir2 := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	s = NewStage(ctx)
	if err := s.Add(filepath.Join(dir2, "1.patch"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Add(filepath.Join(dir2, "2.patch"), []byte("2\n"), 0o644); err == nil {
		t.Errorf("Add after cancel: no error")
	}
	if err := s.Commit(); err == nil {
		t.Errorf("Commit after cancel: no error")
	}
	s.Abort()
	if got := names(t, dir2); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

// TestStageCommitFailureIsDisk: a staged file that cannot be renamed into
// place at Commit (here its staging directory vanished) is a failure of
// the file system under the run, exit 3, not bad input.
func TestStageCommitFailureIsDisk(t *testing.T) {
	dir := t.TempDir()
	s := NewStage(context.Background())
	if err := s.Add(filepath.Join(dir, "out.patch"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".kprewrite-stage-*"))
	for _, d := range tmps {
		os.RemoveAll(d)
	}
	err := s.Commit()
	if kperr.KindOf(err) != kperr.Disk || kperr.ExitCode(err) != kperr.ExitEnvironment {
		t.Errorf("Commit: %v (kind %v), want a disk failure, exit 3", err, kperr.KindOf(err))
	}
}
