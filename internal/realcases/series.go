package realcases

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/kprewrite/kprewrite/patch"
)

// Series is a real-tree patch series on the pristine tree: each step's
// Upstream edits the tree as the steps before it leave it.
type Series struct {
	Name  string
	Steps []*Case
}

// MaterializedSeries is a series laid out on disk.
type MaterializedSeries struct {
	Patches    []string // the upstream patches, in order
	Cumulative string   // patches 1..N as one patch on the pristine tree
	Files      []string // the files the series touches
}

// Materialize writes the series' upstream patches (and their cumulative
// patch) under work. The tree is src itself: series start on the
// pristine tree.
func (s *Series) Materialize(src, work string) (*MaterializedSeries, error) {
	readSrc := func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(src, rel)) }
	now := map[string]string{} // the tree after the steps so far, where it differs
	read := func(rel string) ([]byte, error) {
		if d, ok := now[rel]; ok {
			return []byte(d), nil
		}
		return readSrc(rel)
	}
	m := &MaterializedSeries{}
	mk := func(c *Case, name string, old func(string) ([]byte, error), nw map[string]string) (string, error) {
		p, err := c.patch(old, nw)
		if err != nil {
			return "", err
		}
		if len(p.Files) == 0 {
			return "", fmt.Errorf("series %s: %s is empty", s.Name, name)
		}
		f := filepath.Join(work, name)
		return f, os.WriteFile(f, patch.Render(p, patch.RenderOptions{}), 0o644)
	}
	for i, c := range s.Steps {
		e := &Editor{read: read, files: map[string]string{}}
		c.Upstream(e)
		if e.err != nil {
			return nil, fmt.Errorf("series %s, step %d: %v", s.Name, i+1, e.err)
		}
		f, err := mk(c, fmt.Sprintf("%02d-%s.patch", i+1, c.Name), read, e.files)
		if err != nil {
			return nil, err
		}
		m.Patches = append(m.Patches, f)
		for rel, d := range e.files {
			now[rel] = d
		}
	}
	last := s.Steps[len(s.Steps)-1]
	f, err := mk(&Case{Subject: s.Name + ": patches 1-" + fmt.Sprint(len(s.Steps)), Doc: last.Doc}, s.Name+"-cumulative.patch", readSrc, now)
	if err != nil {
		return nil, err
	}
	m.Cumulative = f
	for rel := range now {
		m.Files = append(m.Files, rel)
	}
	sort.Strings(m.Files)
	return m, nil
}

// SeriesByName returns the series with the given name.
func SeriesByName(name string) *Series {
	for _, s := range AllSeries {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// AllSeries is every real-tree series.
var AllSeries = []*Series{
	{
		// The second fix uses the state the first introduced: patch 1
		// adds a counter to struct slave (kept in a shadow variable by the
		// rewrite: no hole fits a u64), patch 2 changes how it counts. A
		// cumulative livepatch 2 replacing livepatch 1 must find the counts
		// livepatch 1 kept for the slaves it saw.
		Name: "shown",
		Steps: []*Case{{
			Name:    "shown",
			Subject: "bonding: count how often each slave is shown",
			Doc: "u64 shown in the kzalloc'd struct slave, incremented by bond_info_seq_show() and printed\n" +
				"in /proc/net/bonding. Nothing assigns it at creation: slaves enslaved before the\n" +
				"livepatch loads rightly start at 0.",
			Upstream: func(e *Editor) { countShows(e, "u64", "%llu") },
		}, {
			Name:    "shown-cap",
			Subject: "bonding: stop counting at SHOWN_MAX",
			Doc:     "The count of times a slave is shown saturates at SHOWN_MAX.",
			Upstream: func(e *Editor) {
				e.Replace("drivers/net/bonding/bond_procfs.c", "\t\tslave->shown++;\n", "\t\tif (slave->shown < SHOWN_MAX)\n\t\t\tslave->shown++;\n")
				e.Replace("drivers/net/bonding/bond_procfs.c", "static int bond_info_seq_show(", "#define SHOWN_MAX\t3\n\nstatic int bond_info_seq_show(")
			},
		}},
	},
}
