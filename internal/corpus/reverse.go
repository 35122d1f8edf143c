package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kprewrite/kprewrite/internal/fsutil"
	"github.com/kprewrite/kprewrite/patch"
)

// reverseMain is "corpus reverse -cases DIR -out DIR": every case of DIR
// undone (patch.Reverse), for the newer tree, with the same index. The
// engineer's decisions (ID.decide) are the forward fix's and are not
// carried over. A reversed case whose fix leans on others of the range may
// not compile on its own; verify says so, and the run counts it "broken"
// with the reason "the upstream patch does not compile".
func reverseMain(args []string) int {
	fs := flag.NewFlagSet("corpus reverse", flag.ContinueOnError)
	cases := fs.String("cases", "", "directory of ID.patch files and index.tsv (corpus split -out)")
	out := fs.String("out", "", "directory for the reversed cases")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cases == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "corpus reverse: give -cases and -out")
		return 2
	}
	index, err := readIndex(filepath.Join(*cases, "index.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus reverse:", err)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "corpus reverse:", err)
		return 1
	}
	var idx strings.Builder
	for _, e := range index {
		name := filepath.Join(*cases, e.ID+".patch")
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "corpus reverse:", err)
			return 2
		}
		set, err := patch.Read(filepath.Base(name), data, patch.Options{Strip: -1})
		if err != nil || len(set.Patches) != 1 {
			fmt.Fprintf(os.Stderr, "corpus reverse: %s: want one patch: %v\n", name, err)
			return 2
		}
		r := patch.Reverse(set.Patches[0])
		if r.Mail != nil {
			m := *r.Mail
			m.Headers = append([]string(nil), m.Headers...)
			for i, h := range m.Headers {
				if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "Subject") {
					m.Headers[i] = k + ": [reversed]" + v
				}
			}
			r.Mail = &m
		}
		if err := fsutil.WriteFileAtomic(filepath.Join(*out, e.ID+".patch"), patch.Render(r, patch.RenderOptions{}), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "corpus reverse:", err)
			return 1
		}
		fmt.Fprintf(&idx, "%s\t%s\t%s\n", e.ID, e.Kind, e.Subject)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(*out, "index.tsv"), []byte(idx.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "corpus reverse:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "corpus reverse: %d cases reversed in %s\n", len(index), *out)
	return 0
}
