// Command corpus builds and measures kprewrite's development corpus.
//
// "corpus split" cuts the diff between two Debian linux-source-6.1 releases
// into one patch per upstream fix, as a curated manifest says, and checks
// the manifest against the diff on every run: every listed file and hunk
// anchor exists, no hunk is claimed twice, and the hunks that change a
// struct or union in a header but that no fix claims are listed. Run it
// through scripts/corpus.sh.
//
// "corpus run" runs kprewrite rewrite, then verify, on every case and
// classifies it (see run.go). Run it through scripts/corpus-run.sh.
//
// "corpus reverse" writes every case undone, for the newer tree (see
// reverse.go): scripts/corpus-run.sh --reversed runs those.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		os.Exit(runMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "reverse" {
		os.Exit(reverseMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "split" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	diffPath := flag.String("diff", "", "unified diff (diff -Nrup OLD NEW) between the two trees")
	oldTree := flag.String("old", "", "the older tree (the base the patches apply to)")
	newTree := flag.String("new", "", "the newer tree")
	manifestPath := flag.String("manifest", "testdata/corpus/manifest", "the curated manifest")
	out := flag.String("out", "", "directory for the per-fix patches (ID.patch) and index.tsv; empty: check only")
	flag.Parse()
	if *diffPath == "" || *oldTree == "" || *newTree == "" {
		fmt.Fprintln(os.Stderr, "corpus: give -diff, -old and -new (scripts/corpus.sh does)")
		os.Exit(2)
	}
	m, err := readManifestFile(*manifestPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(2)
	}
	data, err := os.ReadFile(*diffPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(2)
	}
	files := parseDiff(string(data))
	res := assign(m, files)
	res.unclaimed = unclaimedStructHunks(files, res.owner, *oldTree, *newTree)
	for _, e := range res.errors {
		fmt.Fprintln(os.Stderr, "corpus: manifest:", e)
	}
	for _, u := range res.unclaimed {
		fmt.Fprintln(os.Stderr, "corpus: unclaimed struct/union hunk:", u)
	}
	fmt.Fprintf(os.Stderr, "corpus: %d fixes, %d hunks claimed, %d unclaimed header struct/union hunks, %d manifest errors\n",
		len(m.Fixes), len(res.owner), len(res.unclaimed), len(res.errors))
	if len(res.errors) > 0 {
		os.Exit(1)
	}
	if *out == "" {
		return
	}
	if err := writeCases(*out, m, files, res.owner, *oldTree, *newTree); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

// writeCases writes OUT/ID.patch for every fix, OUT/ID.decide for a fix
// with decisions (one per line), and OUT/index.tsv (id, kind, subject),
// replacing what an earlier run left.
func writeCases(out string, m *Manifest, files []*File, owner map[*Hunk]*Fix, oldTree, newTree string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, glob := range []string{"*.patch", "*.decide"} {
		old, _ := filepath.Glob(filepath.Join(out, glob))
		for _, f := range old {
			os.Remove(f)
		}
	}
	var index strings.Builder
	for _, fx := range m.Fixes {
		text := renderPatch(fx, files, owner, oldTree, newTree)
		if err := os.WriteFile(filepath.Join(out, fx.ID+".patch"), []byte(text), 0o644); err != nil {
			return err
		}
		if len(fx.Decisions) > 0 {
			if err := os.WriteFile(filepath.Join(out, fx.ID+".decide"), []byte(strings.Join(fx.Decisions, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(&index, "%s\t%s\t%s\n", fx.ID, fx.Kind, fx.Subject)
	}
	return os.WriteFile(filepath.Join(out, "index.tsv"), []byte(index.String()), 0o644)
}

// renderPatch writes one fix as a git-style mail: its subject, its notes,
// then its hunks in diff order, with the new-side line numbers recomputed
// for the hunks it takes.
func renderPatch(fx *Fix, files []*File, owner map[*Hunk]*Fix, oldTree, newTree string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Debian linux-source-6.1 6.1.170-3..6.1.176-1 <corpus@kprewrite>\nSubject: [PATCH] %s\n\n", fx.Subject)
	fmt.Fprintf(&b, "Corpus case %s (kind: %s), cut from the diff between Debian's\nlinux-source-6.1 6.1.170-3 and 6.1.176-1 by scripts/corpus.sh.\n", fx.ID, fx.Kind)
	for _, n := range fx.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	b.WriteString("---\n")
	for _, f := range files {
		var hs []*Hunk
		for _, h := range f.Hunks {
			if owner[h] == fx {
				hs = append(hs, h)
			}
		}
		if len(hs) == 0 {
			continue
		}
		oldName, newName := "a/"+f.Path, "b/"+f.Path
		if !exists(filepath.Join(oldTree, f.Path)) {
			oldName = "/dev/null"
		}
		if !exists(filepath.Join(newTree, f.Path)) {
			newName = "/dev/null"
		}
		fmt.Fprintf(&b, "diff --git a/%s b/%s\n--- %s\n+++ %s\n", f.Path, f.Path, oldName, newName)
		delta := 0
		for _, h := range hs {
			newStart := h.OldStart + delta
			if h.OldLen == 0 {
				newStart++ // "-N,0" names the line before the insertion
			}
			if h.NewLen == 0 {
				newStart-- // and "+N,0" the line before the removal
			}
			if oldName == "/dev/null" {
				newStart = 1
			}
			fmt.Fprintf(&b, "@@ -%s +%s @@%s\n", rng(h.OldStart, h.OldLen), rng(newStart, h.NewLen), h.Context)
			for _, l := range h.Lines {
				b.WriteString(l)
				b.WriteByte('\n')
			}
			delta += h.NewLen - h.OldLen
		}
	}
	b.WriteString("-- \n2.39.5\n")
	return b.String()
}

func rng(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
