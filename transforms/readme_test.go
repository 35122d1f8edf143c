package transforms

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// root is the repository root, seen from this package.
const root = ".."

// layoutTable returns the rows of README's "Layout" table: the paths of
// each row's first column (a bare name after "rewrite/header2c" is another
// directory under rewrite/), and the row's text.
func layoutTable(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sect, ok := strings.Cut(string(data), "\n## Layout\n")
	if !ok {
		t.Fatal("README has no Layout section")
	}
	sect, _, _ = strings.Cut(sect, "\n## ")
	tick := regexp.MustCompile("`([^`]+)`")
	rows := map[string]string{}
	for _, line := range strings.Split(sect, "\n") {
		cols := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cols) < 2 {
			continue
		}
		parent := ""
		for _, m := range tick.FindAllStringSubmatch(cols[0], -1) {
			p := strings.TrimSuffix(m[1], "/")
			if dir, _, ok := strings.Cut(p, "/"); ok {
				parent = dir + "/"
			} else if parent != "" {
				p = parent + p
			}
			rows[p] = line
		}
	}
	return rows
}

// goPackages returns the directories of the module that hold Go code
// (test-only directories included), relative to the root.
func goPackages(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			if rel = filepath.ToSlash(rel); !slices.Contains(out, rel) {
				out = append(out, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadmeLayout: README's layout table names every package of the
// module (an internal/ package in its own row or by its path in the
// internal/ row), and every path it names exists.
func TestReadmeLayout(t *testing.T) {
	t.Parallel()
	rows := layoutTable(t)
	for p := range rows {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("the layout table names %s, which does not exist", p)
		}
	}
	for _, pkg := range goPackages(t) {
		if _, ok := rows[pkg]; ok {
			continue
		}
		if strings.HasPrefix(pkg, "internal/") && strings.Contains(rows["internal"], "`"+pkg+"`") {
			continue
		}
		t.Errorf("the layout table does not name the package %s", pkg)
	}
}

// TestEveryTransformRegistered: each transform of the registry has its
// package under rewrite/ with cases (testdata/CASE/expect) and is named in
// README's layout table, and each package under rewrite/ with such cases is
// in the registry: a transform is its package and its registry line.
func TestEveryTransformRegistered(t *testing.T) {
	t.Parallel()
	var registered []string
	for _, tr := range All() {
		registered = append(registered, tr.Name)
	}
	expects, err := filepath.Glob(filepath.Join(root, "rewrite", "*", "testdata", "*", "expect"))
	if err != nil {
		t.Fatal(err)
	}
	var withCases []string
	for _, e := range expects {
		name := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(e))))
		if !slices.Contains(withCases, name) {
			withCases = append(withCases, name)
		}
	}
	slices.Sort(withCases)
	if diff := cmp.Diff(slices.Sorted(slices.Values(registered)), withCases); diff != "" {
		t.Errorf("registered transforms (-) and rewrite/ packages with cases (+) differ:\n%s", diff)
	}
	rows := layoutTable(t)
	for _, name := range registered {
		if _, ok := rows["rewrite/"+name]; !ok {
			t.Errorf("README's layout table does not name rewrite/%s", name)
		}
	}
}
