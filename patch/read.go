package patch

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	godiff "github.com/sourcegraph/go-diff/diff"

	"github.com/kprewrite/kprewrite/tree"
)

// Options control how a patch is read.
type Options struct {
	// Strip is the number of leading path components to remove, as patch -pN.
	// A negative value means: decide from the patch (git diffs and a/ b/
	// prefixes are -p1, otherwise -p0).
	Strip int
}

var (
	// an mbox separator: "From <sha> <date>" (git format-patch),
	// "From git@z Thu Jan  1 00:00:00 1970" (b4, lore), "From user@host
	// <date>": "From ", a word, a date; a header line must follow
	mboxFromRE = regexp.MustCompile(`^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) `)
	headerRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*: `)
	hunkRE     = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$`)
)

// Read parses data (the content of the input called name) into a Set.
func Read(name string, data []byte, opt Options) (*Set, error) {
	errAt := func(line int, format string, args ...any) error {
		return &Error{Name: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errAt(0, "empty input: no patch to read")
	}
	lines := strings.Split(string(data), "\n")
	finalNewline := strings.HasSuffix(string(data), "\n")
	if finalNewline {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		switch {
		case strings.IndexByte(l, 0) >= 0:
			return nil, errAt(i+1, "NUL byte: this is binary data, not a text patch")
		case strings.HasSuffix(l, "\r"):
			return nil, errAt(i+1, "CRLF line end: the patch was mangled on the way (convert it with dos2unix and retry)")
		case !utf8.ValidString(l):
			return nil, errAt(i+1, "bytes that are not valid UTF-8: convert the patch to UTF-8 (iconv) and retry")
		}
	}
	// A last line without a newline is where the input was cut short,
	// unless it is the "\ No newline at end of file" marker or text after
	// the diff: scanDiff refuses a hunk line there.
	unterminated := -1
	if !finalNewline {
		unterminated = len(lines) - 1
	}
	set := &Set{Name: name}
	for _, ch := range splitMails(lines) {
		p, err := readOne(name, lines, ch.start, ch.end, unterminated, opt)
		if err != nil {
			return nil, err
		}
		set.Patches = append(set.Patches, p)
	}
	if len(set.Patches) == 0 {
		return nil, errAt(0, "no diff found: expected a unified diff, a git format-patch mail or an mbox")
	}
	return set, nil
}

type span struct{ start, end int }

// splitMails cuts an mbox (or several concatenated format-patch mails) into
// one span per mail; a plain diff is one span.
func splitMails(lines []string) []span {
	var starts []int
	for i, l := range lines {
		if !mboxFromRE.MatchString(l) {
			continue
		}
		if i+1 < len(lines) && headerRE.MatchString(lines[i+1]) {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 || starts[0] != 0 && strings.TrimSpace(strings.Join(lines[:starts[0]], "")) != "" {
		starts = append([]int{0}, starts...)
	}
	var out []span
	for i, s := range starts {
		e := len(lines)
		if i+1 < len(starts) {
			e = starts[i+1]
		}
		out = append(out, span{s, e})
	}
	return out
}

// isDiffStart reports whether a file diff begins at lines[i].
func isDiffStart(lines []string, i int) bool {
	l := lines[i]
	if strings.HasPrefix(l, "diff --git ") {
		return true
	}
	if strings.HasPrefix(l, "--- ") && i+2 < len(lines) && strings.HasPrefix(lines[i+1], "+++ ") && strings.HasPrefix(lines[i+2], "@@ ") {
		return true
	}
	if (strings.HasPrefix(l, "diff -") || strings.HasPrefix(l, "Index: ")) && i+1 < len(lines) {
		for j := i + 1; j < len(lines) && j < i+4; j++ {
			if strings.HasPrefix(lines[j], "--- ") {
				return true
			}
		}
	}
	return false
}

func readOne(name string, lines []string, start, end, unterminated int, opt Options) (*Patch, error) {
	errAt := func(line int, format string, args ...any) error {
		return &Error{Name: name, Line: line + 1, Msg: fmt.Sprintf(format, args...)}
	}
	diffStart := -1
	for i := start; i < end; i++ {
		if isDiffStart(lines, i) {
			diffStart = i
			break
		}
	}
	if diffStart < 0 {
		for i := start; i < end; i++ {
			if strings.HasPrefix(lines[i], "GIT binary patch") || strings.HasPrefix(lines[i], "Binary files ") {
				return nil, errAt(i, "binary diff refused: kprewrite rewrites C source patches only")
			}
		}
		if emptyRewrite(lines[start:end]) {
			// kprewrite's own output for a patch that needs no livepatch
			// under the config: the mail, no file diff
			return &Patch{Mail: readMail(lines[start:end])}, nil
		}
		return nil, errAt(start-1, "no diff found: expected a unified diff, a git format-patch mail or an mbox")
	}
	p := &Patch{}
	if diffStart > start {
		p.Mail = readMail(lines[start:diffStart])
	}
	files, diffEnd, err := scanDiff(lines, diffStart, end, unterminated, errAt)
	if err != nil {
		return nil, err
	}
	// Whatever follows the last hunk must be a mail signature or blank.
	rest := lines[diffEnd:end]
	for len(rest) > 0 && strings.TrimSpace(rest[len(rest)-1]) == "" {
		rest = rest[:len(rest)-1]
	}
	if len(rest) > 0 {
		if rest[0] == "-- " || rest[0] == "--" {
			for _, l := range rest {
				if strings.HasPrefix(l, "diff --git ") || strings.HasPrefix(l, "+++ ") || strings.HasPrefix(l, "@@ ") {
					// a diff in what reads as a signature: a mail the
					// separators did not cut, or a diff after a signature
					return nil, errAt(diffEnd, "a diff follows the mail signature: %q (is this several mails with an mbox separator kprewrite does not know?)", clip(l))
				}
			}
			if p.Mail == nil {
				p.Mail = &Mail{}
			}
			p.Mail.Signature = strings.Join(rest, "\n") + "\n"
		} else {
			return nil, errAt(diffEnd, "unexpected text after the last hunk: %q (are the hunk line counts right?)", clip(rest[0]))
		}
	}
	if err := parseHeaders(name, lines, diffStart, diffEnd, files, opt); err != nil {
		return nil, err
	}
	for _, f := range files {
		p.Files = append(p.Files, f.file)
	}
	if len(p.Files) == 0 {
		return nil, errAt(diffStart, "no file diff found")
	}
	return p, nil
}

// EmptyRewriteNote starts the note kprewrite puts in a rewritten patch.
const EmptyRewriteNote = "kprewrite: rewritten for livepatching"

// emptyRewrite reports whether a mail is a patch kprewrite rewrote to
// nothing: its note and a diffstat of no file.
func emptyRewrite(lines []string) bool {
	note, none := false, false
	for _, l := range lines {
		note = note || strings.HasPrefix(l, EmptyRewriteNote)
		none = none || strings.TrimSpace(l) == "0 files changed"
	}
	return note && none
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// readMail splits the text before the diff into headers, body and notes.
func readMail(text []string) *Mail {
	m := &Mail{}
	i := 0
	if len(text) > 0 && mboxFromRE.MatchString(text[0]) {
		m.FromLine = text[0]
		i = 1
	}
	if i < len(text) && headerRE.MatchString(text[i]) {
		for ; i < len(text) && text[i] != ""; i++ {
			if (strings.HasPrefix(text[i], " ") || strings.HasPrefix(text[i], "\t")) && len(m.Headers) > 0 {
				m.Headers[len(m.Headers)-1] += "\n" + text[i]
				continue
			}
			m.Headers = append(m.Headers, text[i])
		}
		if i < len(text) {
			i++ // the blank line after the headers
		}
	}
	body := text[i:]
	sep := -1
	for j, l := range body {
		if l == "---" {
			sep = j
			break
		}
	}
	if sep >= 0 && len(m.Headers) > 0 {
		m.Body = joinLines(body[:sep])
		m.Notes = joinLines(body[sep+1:])
	} else {
		m.Body = joinLines(body)
	}
	return m
}

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

// scannedFile is one file diff as found by scanDiff, before header parsing.
type scannedFile struct {
	start, end int // line span of the file diff, header included
	hunks      []*Hunk
	file       *File
}

// scanDiff finds the exact extent of every file diff and hunk, using the
// counts in the hunk headers, and refuses what kprewrite cannot handle.
// unterminated is the index of a last input line that has no newline (-1 if
// none): a hunk line there, with no "\ No newline" marker, means the input
// was cut in the middle of that line.
func scanDiff(lines []string, i, end, unterminated int, errAt func(int, string, ...any) error) ([]*scannedFile, int, error) {
	var files []*scannedFile
	for i < end && isDiffStart(lines, i) {
		f := &scannedFile{start: i}
		hdr := i
		// Header lines up to the first hunk or the next file.
		for ; i < end; i++ {
			l := lines[i]
			if strings.HasPrefix(l, "@@ ") {
				break
			}
			if i > hdr && (strings.HasPrefix(l, "diff --git ") || (strings.HasPrefix(l, "diff -") && !strings.HasPrefix(lines[hdr], "Index: "))) {
				break
			}
			switch {
			case strings.HasPrefix(l, "GIT binary patch"), strings.HasPrefix(l, "Binary files "):
				return nil, 0, errAt(i, "binary diff refused: kprewrite rewrites C source patches only")
			case strings.HasPrefix(l, "rename from "), strings.HasPrefix(l, "rename to "), strings.HasPrefix(l, "rename old "):
				return nil, 0, errAt(i, "rename refused: split the rename into its own patch (kprewrite rewrites content changes)")
			case strings.HasPrefix(l, "copy from "), strings.HasPrefix(l, "copy to "):
				return nil, 0, errAt(i, "copy refused: kprewrite rewrites content changes of existing or new files only")
			case strings.HasPrefix(l, "old mode "), strings.HasPrefix(l, "new mode "):
				return nil, 0, errAt(i, "file mode change refused: a livepatch cannot carry a mode change; drop it from the patch")
			}
			if strings.HasPrefix(l, "+++ ") {
				i++
				break
			}
		}
		// Hunks.
		for i < end && strings.HasPrefix(lines[i], "@@ ") {
			m := hunkRE.FindStringSubmatch(lines[i])
			if m == nil {
				return nil, 0, errAt(i, "malformed hunk header %q", clip(lines[i]))
			}
			h := &Hunk{Section: strings.TrimPrefix(m[5], " ")}
			h.OldStart, _ = strconv.Atoi(m[1])
			h.OldLines = 1
			if m[2] != "" {
				h.OldLines, _ = strconv.Atoi(m[2])
			}
			h.NewStart, _ = strconv.Atoi(m[3])
			h.NewLines = 1
			if m[4] != "" {
				h.NewLines, _ = strconv.Atoi(m[4])
			}
			hunkLine := i
			i++
			oldLeft, newLeft := h.OldLines, h.NewLines
			for oldLeft > 0 || newLeft > 0 {
				if i >= end {
					return nil, 0, errAt(hunkLine, "truncated hunk: %d old and %d new lines missing at the end of the input", oldLeft, newLeft)
				}
				l := lines[i]
				var op Op
				text := ""
				if l == "" {
					op = Context // an empty context line whose space was eaten by a mailer
				} else {
					op = Op(l[0])
					text = l[1:]
				}
				switch op {
				case Context:
					oldLeft--
					newLeft--
				case Delete:
					oldLeft--
				case Insert:
					newLeft--
				case '\\':
					if len(h.Lines) == 0 {
						return nil, 0, errAt(i, "misplaced %q", l)
					}
					h.Lines[len(h.Lines)-1].NoNewline = true
					i++
					continue
				default:
					return nil, 0, errAt(i, "hunk ends early: %q is not a hunk line (the @@ line counts %d,%d do not match the body)", clip(l), h.OldLines, h.NewLines)
				}
				if oldLeft < 0 || newLeft < 0 {
					return nil, 0, errAt(hunkLine, "hunk body does not match its header counts -%d,%d +%d,%d", h.OldStart, h.OldLines, h.NewStart, h.NewLines)
				}
				if i == unterminated {
					return nil, 0, errAt(i, "truncated input: the last line ends without a newline and without a \"\\ No newline at end of file\" marker (the patch was cut short: get the whole patch and retry)")
				}
				h.Lines = append(h.Lines, Line{Op: op, Text: text})
				i++
			}
			if i < end && strings.HasPrefix(lines[i], `\ `) {
				h.Lines[len(h.Lines)-1].NoNewline = true
				i++
			}
			f.hunks = append(f.hunks, h)
		}
		f.end = i
		files = append(files, f)
	}
	return files, i, nil
}

// parseHeaders reads each file's header with go-diff and fills in paths.
func parseHeaders(name string, lines []string, start, end int, files []*scannedFile, opt Options) error {
	errAt := func(line int, format string, args ...any) error {
		return &Error{Name: name, Line: line + 1, Msg: fmt.Sprintf(format, args...)}
	}
	for _, sf := range files {
		text := strings.Join(lines[sf.start:sf.end], "\n") + "\n"
		fds, err := godiff.ParseMultiFileDiff([]byte(text))
		if err != nil || len(fds) != 1 {
			if err == nil {
				err = fmt.Errorf("found %d file headers", len(fds))
			}
			return errAt(sf.start, "cannot read the file header: %v", err)
		}
		fd := fds[0]
		if len(fd.Hunks) != len(sf.hunks) {
			return errAt(sf.start, "cannot read the hunks of this file diff (%d found, %d expected)", len(fd.Hunks), len(sf.hunks))
		}
		for k, h := range fd.Hunks {
			mine := sf.hunks[k]
			if int(h.OrigStartLine) != mine.OldStart || int(h.OrigLines) != mine.OldLines || int(h.NewStartLine) != mine.NewStart || int(h.NewLines) != mine.NewLines {
				return errAt(sf.start, "hunk %d header read inconsistently", k+1)
			}
		}
		oldName, newName := fd.OrigName, fd.NewName
		isNew, isDel := false, false
		for _, x := range fd.Extended {
			if strings.HasPrefix(x, "new file mode") {
				isNew = true
			}
			if strings.HasPrefix(x, "deleted file mode") {
				isDel = true
			}
		}
		gitStyle := strings.HasPrefix(lines[sf.start], "diff --git ")
		if (oldName == "" || newName == "") && gitStyle {
			// A git diff of an empty new or deleted file has no ---/+++ lines.
			a, b, ok := splitGitNames(strings.TrimPrefix(lines[sf.start], "diff --git "))
			if !ok {
				return errAt(sf.start, "cannot read file names from %q", clip(lines[sf.start]))
			}
			oldName, newName = a, b
		}
		if isNew || oldName == "/dev/null" {
			oldName = ""
		}
		if isDel || newName == "/dev/null" {
			newName = ""
		}
		if oldName == "" && newName == "" {
			return errAt(sf.start, "file diff names no file")
		}
		strip := opt.Strip
		if strip < 0 {
			strip = 0
			if gitStyle || (prefixed(oldName, "a/") && prefixed(newName, "b/")) {
				strip = 1
			} else if oldName != "" && newName != "" && firstComponent(oldName) != firstComponent(newName) {
				strip = 1 // linux.orig/foo.c linux/foo.c
			}
		}
		f := &File{Hunks: sf.hunks}
		for _, side := range []struct {
			in  string
			out *string
		}{{oldName, &f.OldPath}, {newName, &f.NewPath}} {
			if side.in == "" {
				continue
			}
			p, err := stripPath(side.in, strip)
			if err != nil {
				return errAt(sf.start, "%v", err)
			}
			*side.out = p
		}
		if f.OldPath != "" && f.NewPath != "" && f.OldPath != f.NewPath {
			return errAt(sf.start, "rename refused (%s -> %s): split the rename into its own patch", f.OldPath, f.NewPath)
		}
		if f.IsNew() {
			for _, h := range f.Hunks {
				if h.OldLines != 0 {
					return errAt(sf.start, "new file %s has a hunk with old lines", f.NewPath)
				}
			}
		}
		sf.file = f
	}
	return nil
}

func prefixed(name, p string) bool {
	return name == "" || name == "/dev/null" || strings.HasPrefix(name, p)
}

func firstComponent(p string) string {
	c, _, _ := strings.Cut(p, "/")
	return c
}

// stripPath removes n leading components (patch -pN) and validates the rest.
func stripPath(p string, n int) (string, error) {
	if strings.HasPrefix(p, "/") && n == 0 {
		return "", fmt.Errorf("absolute path %s refused: patch paths must be relative to the tree", p)
	}
	for k := 0; k < n; k++ {
		_, rest, ok := strings.Cut(p, "/")
		if !ok {
			return "", fmt.Errorf("path %s has fewer than %d components to strip (-p%d)", p, n, n)
		}
		p = rest
	}
	return tree.CleanRel(p)
}

// splitGitNames splits the arguments of a "diff --git a/x b/x" line.
func splitGitNames(args string) (string, string, bool) {
	// Same name on both sides is the only form kprewrite accepts; find the
	// split where both halves have the same path after their prefix.
	for i := 0; i < len(args); i++ {
		if args[i] != ' ' {
			continue
		}
		a, b := args[:i], args[i+1:]
		_, ra, okA := strings.Cut(a, "/")
		_, rb, okB := strings.Cut(b, "/")
		if okA && okB && ra == rb {
			return a, b, true
		}
	}
	return "", "", false
}
