package build

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

var quotedIncludeRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*"([^"]+)"`)

// linkSiblings makes the tree files next to each changed file of a
// variant visible beside it in the overlay: gcc looks for a quoted
// #include in the directory of the file that names it, which for a
// changed header is its overlay directory ("perf_event_flags.h" next to a
// changed arch/x86/events/perf_event.h). Every regular file of the
// directory is linked (each subdirectory as one link), and so is the target of each quoted #include of the
// changed file that lies elsewhere ("../foo.h"). Files the overlay already
// has are left alone.
func (c *Compiler) linkSiblings(ovl string, v *Variant) error {
	root := c.Env.SrcRoot()
	link := func(rel string) error {
		if data, ok := v.Files[rel]; ok && data == nil {
			return nil // deleted in this variant
		}
		dst := filepath.Join(ovl, filepath.FromSlash(rel))
		if _, err := os.Lstat(dst); err == nil {
			return nil
		}
		src := filepath.Join(root, filepath.FromSlash(rel))
		if st, err := os.Stat(src); err != nil || !st.Mode().IsRegular() && !st.IsDir() {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(src, dst)
	}
	dirs := map[string]bool{}
	for rel, data := range v.Files {
		if data == nil {
			continue
		}
		dir := path.Dir(rel)
		if !dirs[dir] {
			dirs[dir] = true
			ents, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
			if err == nil {
				for _, e := range ents {
					// files, and directories for quoted includes that name a
					// subdirectory ("device-id/acpi.h" from
					// include/linux/mod_devicetable.h, Linux 7.x)
					if e.Type().IsRegular() || e.IsDir() {
						if err := link(path.Join(dir, e.Name())); err != nil {
							return err
						}
					}
				}
			}
		}
		for _, m := range quotedIncludeRE.FindAllSubmatch(data, -1) {
			target := path.Clean(path.Join(dir, string(m[1])))
			if target == ".." || strings.HasPrefix(target, "../") || path.IsAbs(string(m[1])) {
				continue
			}
			if err := link(target); err != nil {
				return err
			}
		}
	}
	return nil
}
