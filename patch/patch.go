// Package patch reads, applies and writes unified diffs the way kernel
// developers exchange them: plain diffs, `git format-patch` mails and mboxes.
//
// Reading is strict: hunk line counts are checked, binary diffs, renames,
// copies and mode-only changes are refused, and every path is validated so a
// patch cannot name a file outside the tree. File headers and hunks are parsed
// with github.com/sourcegraph/go-diff after this package has found the exact
// extent of each diff.
package patch

import (
	"fmt"
	"strings"
)

// MaxSize is the largest input, in bytes, kprewrite reads as a patch (64 MiB:
// far above any kernel patch, low enough that an endless input such as
// /dev/zero is refused instead of exhausting memory).
const MaxSize = 64 << 20

// Set is everything read from one input: one or more patches in order.
type Set struct {
	Name    string // where it was read from, for messages
	Patches []*Patch
}

// Patch is one change: an optional mail around it and its file diffs.
type Patch struct {
	Mail  *Mail // nil for a plain diff
	Files []*File
}

// Mail is the part of a `git format-patch` mail that is not the diff. It is
// kept so the rewritten patch carries the same author, subject, message and
// trailers.
type Mail struct {
	FromLine  string   // mbox separator ("From <sha> Mon Sep 17 00:00:00 2001"), may be empty
	Headers   []string // header lines in order, continuation lines folded in with "\n"
	Body      string   // commit message and trailers, up to the "---" line
	Notes     string   // text between "---" and the diff (diffstat, notes); regenerated on output
	Signature string   // "-- \n2.39.5\n" style trailer after the diff
}

// Header returns the value of the first header named name (case-insensitive).
func (m *Mail) Header(name string) string {
	for _, h := range m.Headers {
		k, v, ok := strings.Cut(h, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(strings.ReplaceAll(v, "\n", ""))
		}
	}
	return ""
}

// Subject returns the mail subject, or "" for a plain diff.
func (p *Patch) Subject() string {
	if p.Mail == nil {
		return ""
	}
	return p.Mail.Header("Subject")
}

// File is the diff of one file. OldPath is "" for a new file and NewPath is ""
// for a deleted file; otherwise they are equal (renames are refused).
type File struct {
	OldPath, NewPath string
	Hunks            []*Hunk
}

// Path returns the tree-relative path the diff is about.
func (f *File) Path() string {
	if f.NewPath != "" {
		return f.NewPath
	}
	return f.OldPath
}

// IsNew reports whether the diff creates the file.
func (f *File) IsNew() bool { return f.OldPath == "" }

// IsDelete reports whether the diff deletes the file.
func (f *File) IsDelete() bool { return f.NewPath == "" }

// Op is the kind of a hunk line.
type Op byte

// Hunk line kinds, as in the unified format.
const (
	Context Op = ' '
	Delete  Op = '-'
	Insert  Op = '+'
)

// Line is one hunk line without its prefix and newline.
type Line struct {
	Op        Op
	Text      string
	NoNewline bool // followed by "\ No newline at end of file"
}

// Hunk is one @@ block. Start lines are 1-based as in the header.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
	Section            string // text after the second @@, if any
	Lines              []Line
}

// OldText returns the lines the hunk expects in the original file.
func (h *Hunk) OldText() []string {
	var out []string
	for _, l := range h.Lines {
		if l.Op != Insert {
			out = append(out, l.Text)
		}
	}
	return out
}

// NewText returns the lines the hunk leaves in the new file.
func (h *Hunk) NewText() []string {
	var out []string
	for _, l := range h.Lines {
		if l.Op != Delete {
			out = append(out, l.Text)
		}
	}
	return out
}

// Error is a problem in the patch text, located by input line.
type Error struct {
	Name string // input name
	Line int    // 1-based line in the input, 0 when not known
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Name, e.Msg)
}
