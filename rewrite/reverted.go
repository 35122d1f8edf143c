package rewrite

import (
	"bytes"
	"strings"

	"github.com/kprewrite/kprewrite/edit"
)

// RevertedLine reports whether line of file, as it stands after the
// edits so far, is old code that upstream changes and a transform put
// back (a header inline header2c moved into its users keeps its original
// text in the header, for code that no longer calls it).
func (s *Session) RevertedLine(file string, line int) bool {
	return revertedLine(s.Original(file), s.File(file), s.Upstream[file], line)
}

// revertedLine reports whether line of cur is old code that upstream
// changes and a transform put back: the original's line (cur does not
// change it) is one upstream's version up removes or replaces.
func revertedLine(orig, cur, up []byte, line int) bool {
	if orig == nil || up == nil {
		return false
	}
	at, ok := origLine(orig, cur, line)
	if !ok {
		return false
	}
	for _, e := range edit.Diff("", orig, up) {
		first := bytes.Count(orig[:e.Off], []byte("\n")) + 1
		if at >= first && at < first+bytes.Count(orig[e.Off:e.End], []byte("\n")) {
			return true
		}
	}
	return false
}

// origLine returns the line of orig that line of text is, or false when
// text adds or changes that line.
func origLine(orig, text []byte, line int) (int, bool) {
	delta := 0 // lines of text before an edit minus the original's
	for _, e := range edit.Diff("", orig, text) {
		first := bytes.Count(orig[:e.Off], []byte("\n")) + 1 + delta
		if line < first {
			break
		}
		n := strings.Count(e.Text, "\n")
		if line < first+n {
			return 0, false
		}
		delta += n - bytes.Count(orig[e.Off:e.End], []byte("\n"))
	}
	return line - delta, true
}
