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
// #include in the directory of the file that names it, and for a file
// read from the overlay that is its overlay directory ("perf_event_flags.h"
// next to a changed arch/x86/events/perf_event.h).
//
// Every entry of a changed file's directory is linked (each subdirectory
// as one link). Quoted includes are then followed from the changed files
// and from the sources compiled, transitively: each file they reach is read from the overlay, so its
// directory is linked too and its own quoted includes are followed (a
// changed kernel/fork.c includes "../mm/internal.h", which on Linux 7.x
// includes "vma.h"). The sources matter as much: a source copied into the
// overlay that includes an unchanged "common.h" which includes a changed
// "../ath.h" must read common.h from the overlay, or its relative include
// resolves in the tree and reaches the original header
// (drivers/net/wireless/ath/ath9k). Files the overlay already has are left
// alone.
func (c *Compiler) linkSiblings(ovl string, v *Variant, sources []string) error {
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
	linkEntries := func(dir string) error {
		ents, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil {
			return nil // a directory only the variant has
		}
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
		return nil
	}
	// realDir makes dir and its parents real directories of the overlay:
	// one linked whole (as a sibling of a linked file) would make ".." in
	// a quoted include of a file read through it resolve in the tree.
	realDir := func(dir string) error {
		parts := strings.Split(dir, "/")
		for i := 1; i <= len(parts); i++ {
			p := strings.Join(parts[:i], "/")
			dst := filepath.Join(ovl, filepath.FromSlash(p))
			st, err := os.Lstat(dst)
			if err != nil || st.Mode()&os.ModeSymlink == 0 {
				continue
			}
			if err := os.Remove(dst); err != nil {
				return err
			}
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			if err := linkEntries(p); err != nil {
				return err
			}
		}
		return nil
	}
	dirs := map[string]bool{}
	linkDir := func(dir string) error {
		if dirs[dir] {
			return nil
		}
		dirs[dir] = true
		if dir != "." {
			if err := realDir(dir); err != nil {
				return err
			}
		}
		return linkEntries(dir)
	}
	// Changed files first, then every file a quoted include reaches.
	var work []string
	seen := map[string]bool{}
	for rel, data := range v.Files {
		if data != nil {
			work = append(work, rel)
			seen[rel] = true
		}
	}
	for _, rel := range sources {
		if !seen[rel] {
			work = append(work, rel)
			seen[rel] = true
		}
	}
	for len(work) > 0 {
		rel := work[len(work)-1]
		work = work[:len(work)-1]
		dir := path.Dir(rel)
		if err := linkDir(dir); err != nil {
			return err
		}
		data, changed := v.Files[rel]
		if !changed {
			var err error
			if data, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
				continue // not a file of the tree (a system header, a directory)
			}
		}
		for _, m := range quotedIncludeRE.FindAllSubmatch(data, -1) {
			target := path.Clean(path.Join(dir, string(m[1])))
			if target == ".." || strings.HasPrefix(target, "../") || path.IsAbs(string(m[1])) || seen[target] {
				continue
			}
			seen[target] = true
			work = append(work, target)
		}
		// A header an angle include finds that includes files by a
		// relative path (include/trace/events/sof_intel.h's
		// "../../../sound/soc/sof/sof-audio.h", define_trace.h's
		// TRACE_INCLUDE) reaches back into the tree: it is read from the
		// overlay too (the overlay's include directories come first), so
		// its relative includes resolve there.
		for _, m := range angleIncludeRE.FindAllSubmatch(data, -1) {
			for _, dir := range c.includeDirs() {
				target := path.Join(dir, string(m[1]))
				text, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(target)))
				if err != nil {
					continue
				}
				if !seen[target] && relativeIncludeRE.Match(text) {
					seen[target] = true
					work = append(work, target)
				}
				break // the first directory that has it is the one gcc reads
			}
		}
	}
	return nil
}

var (
	angleIncludeRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*<([^>]+)>`)
	// relativeIncludeRE matches a quoted include that climbs out of the
	// including file's directory, or a computed one
	// (include/trace/define_trace.h's TRACE_INCLUDE(TRACE_INCLUDE_FILE),
	// a path relative to include/trace/ that a driver's trace header
	// names).
	relativeIncludeRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*("\.\./|[A-Za-z_])`)
)

// includeDirs are the tree's directories kbuild puts on the -I path, in
// its order, for angle includes.
func (c *Compiler) includeDirs() []string {
	arch := "arch/" + c.Env.Make.SrcArch() + "/include"
	return []string{arch, "include", arch + "/uapi", "include/uapi"}
}
