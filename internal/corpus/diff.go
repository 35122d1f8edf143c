package main

import (
	"regexp"
	"strconv"
	"strings"
)

// File is one file of the full diff.
type File struct {
	Path  string // relative to the tree root
	Hunks []*Hunk
}

// Hunk is one hunk of a File.
type Hunk struct {
	File             *File
	Index            int // 1-based, in the file
	OldStart, OldLen int
	NewStart, NewLen int
	Context          string   // what follows the second "@@" (diff -p's function line), with its leading space
	Lines            []string // the body: " ", "-", "+" and "\" lines
}

// Name is how the manifest checker names a hunk in messages.
func (h *Hunk) Name() string {
	return h.File.Path + " hunk " + strconv.Itoa(h.Index) + " (@@ -" + strconv.Itoa(h.OldStart) + " @@" + h.Context + ")"
}

// Changed returns the hunk's removed and added lines, without their marks.
func (h *Hunk) Changed() []string {
	var out []string
	for _, l := range h.Lines {
		if strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+") {
			out = append(out, l[1:])
		}
	}
	return out
}

var hunkRE = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$`)

// parseDiff reads the output of "diff -Nrup OLD NEW": each "diff ..." line
// starts a file named by the part of its last argument after the first
// slash.
func parseDiff(text string) []*File {
	var files []*File
	var f *File
	var h *Hunk
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "diff "):
			fields := strings.Fields(l)
			p := fields[len(fields)-1]
			if i := strings.IndexByte(p, '/'); i >= 0 {
				p = p[i+1:]
			}
			f = &File{Path: p}
			files = append(files, f)
			h = nil
		case f == nil:
		case strings.HasPrefix(l, "--- ") && h == nil, strings.HasPrefix(l, "+++ ") && h == nil:
		case strings.HasPrefix(l, "@@ "):
			m := hunkRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			h = &Hunk{File: f, Index: len(f.Hunks) + 1, OldStart: atoi(m[1]), OldLen: atoiDef(m[2]), NewStart: atoi(m[3]), NewLen: atoiDef(m[4]), Context: m[5]}
			f.Hunks = append(f.Hunks, h)
		case h != nil && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+") || strings.HasPrefix(l, `\`)):
			h.Lines = append(h.Lines, l)
		default:
			h = nil // "Binary files ... differ", "Only in", the empty last line
		}
	}
	return files
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atoiDef(s string) int {
	if s == "" {
		return 1
	}
	return atoi(s)
}
