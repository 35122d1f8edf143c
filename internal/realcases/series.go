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
		var names []string
		for rel := range nw {
			names = append(names, rel)
		}
		sort.Strings(names)
		p := &patch.Patch{Mail: &patch.Mail{
			FromLine: "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
			Headers:  []string{"From: kprewrite real-tree case <cases@kprewrite.invalid>", "Subject: [PATCH] " + c.Subject},
			Body:     c.Doc + "\n\nSigned-off-by: kprewrite real-tree case <cases@kprewrite.invalid>\n",
		}}
		for _, rel := range names {
			o, err := old(rel)
			if err != nil {
				return "", err
			}
			if d := patch.Diff(rel, o, []byte(nw[rel])); d != nil {
				p.Files = append(p.Files, d)
			}
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
		// adds a member of struct task_struct (kept in a shadow variable by
		// the rewrite), patch 2 changes how it is computed. A cumulative
		// livepatch 2 replacing livepatch 1 must find the depths
		// livepatch 1 recorded for the tasks it saw forked.
		Name: "forkdepth",
		Steps: []*Case{{
			Name:    "forkdepth",
			Subject: "fork: record how deep in the process tree each task was forked",
			Doc: "int fork_depth in struct task_struct: one more than the forking task's, set in\n" +
				"kernel_clone() and shown in /proc/PID/status.",
			Upstream: func(e *Editor) {
				e.Replace("include/linux/sched.h", "\tpid_t\t\t\t\tpid;\n\tpid_t\t\t\t\ttgid;\n", "\tpid_t\t\t\t\tpid;\n\tpid_t\t\t\t\ttgid;\n\tint\t\t\t\tfork_depth;\n")
				e.Replace("kernel/fork.c", "\tp = copy_process(NULL, trace, NUMA_NO_NODE, args);\n\tadd_latent_entropy();\n\n\tif (IS_ERR(p))\n\t\treturn PTR_ERR(p);\n",
					"\tp = copy_process(NULL, trace, NUMA_NO_NODE, args);\n\tadd_latent_entropy();\n\n\tif (IS_ERR(p))\n\t\treturn PTR_ERR(p);\n\n\tp->fork_depth = current->fork_depth + 1;\n")
				e.Replace("fs/proc/array.c", "\ttask_state(m, ns, pid, task);\n", "\ttask_state(m, ns, pid, task);\n\tseq_printf(m, \"ForkDepth:\\t%d\\n\", task->fork_depth);\n")
			},
		}, {
			Name:    "forkdepth-cap",
			Subject: "fork: cap the recorded fork depth",
			Doc:     "Deep process trees saturate the fork depth at FORK_DEPTH_MAX instead of counting on.",
			Upstream: func(e *Editor) {
				e.Replace("kernel/fork.c", "\tp->fork_depth = current->fork_depth + 1;\n", "\tp->fork_depth = min(current->fork_depth + 1, FORK_DEPTH_MAX);\n")
				e.Replace("kernel/fork.c", "pid_t kernel_clone(struct kernel_clone_args *args)\n{", "#define FORK_DEPTH_MAX\t4\n\npid_t kernel_clone(struct kernel_clone_args *args)\n{")
			},
		}},
	},
}
