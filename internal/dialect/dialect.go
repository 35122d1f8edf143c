// Package dialect chooses the livepatch glue kprewrite generates (the
// builder's callback and system call macros) and finds the headers that
// builder really provides, so verify compiles the glue as the builder will.
//
//   - klp: the kernel's own scripts/livepatch/klp-build (Linux 6.19 on); the
//     macros are in the tree's include/linux/livepatch_helpers.h.
//   - kpatch: kpatch-build, for older kernels; it puts its kmod/patch
//     directory (kpatch-macros.h, kpatch-syscall.h) on the include path.
package dialect

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/tree"
)

// The dialects.
const (
	KLP    = "klp"
	Kpatch = "kpatch"
	Auto   = "auto"
)

// KLPBuild is the tree-relative path of the kernel's own livepatch builder.
const KLPBuild = "scripts/livepatch/klp-build"

// KLPHelpers is the tree-relative header that defines the klp macros.
const KLPHelpers = "include/linux/livepatch_helpers.h"

// Choice is a chosen dialect and why.
type Choice struct {
	Name string `json:"name"` // "klp" or "kpatch"
	Why  string `json:"why"`
}

// Choose resolves the --dialect flag for a tree: "klp" and "kpatch" are
// taken as given; "auto" (or "") is klp when the tree has klp-build,
// kpatch otherwise.
func Choose(flag string, t *tree.Tree) (Choice, error) {
	switch flag {
	case KLP, Kpatch:
		return Choice{Name: flag, Why: "--dialect " + flag}, nil
	case Auto, "":
		if t.Exists(KLPBuild) {
			return Choice{Name: KLP, Why: "the tree has " + KLPBuild}, nil
		}
		return Choice{Name: Kpatch, Why: "the tree has no " + KLPBuild + " (a kernel before 6.19): kpatch-build"}, nil
	}
	return Choice{}, kperr.BadInputf("--dialect must be auto, klp or kpatch, not %q", flag)
}

var glueRE = regexp.MustCompile(`(?m)^\+\s*#\s*include\s*[<"](linux/livepatch_helpers\.h|kpatch-macros\.h|kpatch-syscall\.h)[>"]`)

// UsesGlue reports whether a patch's added lines include a builder's glue
// header.
func UsesGlue(patchText []byte) bool { return glueRE.Match(patchText) }

// kpatchHeaders are the files of kpatch's kmod/patch that generated code
// may include (kpatch.h is a link to kmod/core/kpatch.h).
var kpatchHeaders = map[string]string{
	"kmod/patch/kpatch-macros.h":  "kpatch-macros.h",
	"kmod/patch/kpatch-syscall.h": "kpatch-syscall.h",
	"kmod/core/kpatch.h":          "kpatch.h",
}

// KpatchSource finds kpatch's source: $KPREWRITE_KPATCH_SRC (a source
// directory or a .tar.gz of one), else a kpatch-*.tar.gz in shared/vendor
// beside the working directory or one of its parents (where CI keeps it,
// next to the repository). "" when there is none.
func KpatchSource() string {
	if s := os.Getenv("KPREWRITE_KPATCH_SRC"); s != "" {
		return s
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		m, _ := filepath.Glob(filepath.Join(d, "shared", "vendor", "kpatch-*.tar.gz"))
		if len(m) > 0 {
			sort.Strings(m)
			return m[len(m)-1]
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// KpatchInclude returns a directory holding kpatch's real kmod/patch
// headers, read from src (see KpatchSource) and kept content-addressed
// under cacheDir, so concurrent runs share one copy.
func KpatchInclude(src, cacheDir string) (string, error) {
	files, err := readKpatch(src)
	if err != nil {
		return "", kperr.BadInputf("kpatch source %s: %v (set KPREWRITE_KPATCH_SRC to kpatch's source directory or tarball)", src, err)
	}
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	dir := filepath.Join(cacheDir, "kpatch", hex.EncodeToString(h.Sum(nil))[:16])
	for _, n := range names {
		p := filepath.Join(dir, n)
		if have, err := os.ReadFile(p); err == nil && string(have) == string(files[n]) {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
		}
		if err := fsutil.WriteFileAtomic(p, files[n], 0o644); err != nil {
			return "", kperr.WorkAreaf(err, "the work area is not usable (give --cache a writable directory)")
		}
	}
	return dir, nil
}

// readKpatch reads the headers from a source directory or tarball.
func readKpatch(src string) (map[string][]byte, error) {
	out := map[string][]byte{}
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		for rel, name := range kpatchHeaders {
			data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(rel)))
			if err != nil {
				return nil, err
			}
			out[name] = data
		}
		return out, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		// entries are "kpatch-<rev>/kmod/patch/..."
		_, rel, ok := strings.Cut(path.Clean(hdr.Name), "/")
		name, want := kpatchHeaders[rel]
		if !ok || !want || hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, err
		}
		out[name] = data
	}
	for _, name := range kpatchHeaders {
		if out[name] == nil {
			return nil, errors.New("no " + name + " of kmod/ in it")
		}
	}
	return out, nil
}
