package patch

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// RenderOptions adjust how a patch is written.
type RenderOptions struct {
	// Notes are extra lines for the notes area of a mail (after "---"), where
	// git am ignores them; kprewrite uses it to say the patch was rewritten.
	Notes []string
}

// Render writes p as text: the mail around it (with a fresh diffstat) and
// git-style file diffs that git apply and patch -p1 accept.
func Render(p *Patch, opt RenderOptions) []byte {
	var sb strings.Builder
	m := p.Mail
	if m != nil && len(m.Headers) > 0 {
		if m.FromLine != "" {
			sb.WriteString(m.FromLine + "\n")
		}
		for _, h := range m.Headers {
			sb.WriteString(h + "\n")
		}
		sb.WriteString("\n")
		sb.WriteString(m.Body)
		sb.WriteString("---\n")
		for _, n := range opt.Notes {
			sb.WriteString(n + "\n")
		}
		if len(opt.Notes) > 0 {
			sb.WriteString("\n")
		}
		sb.WriteString(Diffstat(p.Files))
		sb.WriteString("\n")
	} else {
		// a plain diff: the notes go before it, where patch and git apply
		// look for no diff
		for _, n := range opt.Notes {
			sb.WriteString(n + "\n")
		}
		if len(opt.Notes) > 0 && m == nil {
			sb.WriteString("\n")
		}
		if m != nil {
			sb.WriteString(m.Body)
		}
	}
	for _, f := range p.Files {
		sb.WriteString(RenderFile(f))
	}
	if m != nil && m.Signature != "" {
		sb.WriteString(m.Signature)
	}
	return []byte(sb.String())
}

// RenderFile writes one file diff in git's format.
func RenderFile(f *File) string {
	var sb strings.Builder
	path := f.Path()
	fmt.Fprintf(&sb, "diff --git a/%s b/%s\n", path, path)
	switch {
	case f.IsNew():
		sb.WriteString("new file mode 100644\n")
	case f.IsDelete():
		sb.WriteString("deleted file mode 100644\n")
	}
	if len(f.Hunks) == 0 {
		return sb.String()
	}
	if f.IsNew() {
		sb.WriteString("--- /dev/null\n")
	} else {
		fmt.Fprintf(&sb, "--- a/%s\n", path)
	}
	if f.IsDelete() {
		sb.WriteString("+++ /dev/null\n")
	} else {
		fmt.Fprintf(&sb, "+++ b/%s\n", path)
	}
	for _, h := range f.Hunks {
		sb.WriteString(HunkHeader(h))
		sb.WriteString("\n")
		for _, l := range h.Lines {
			sb.WriteByte(byte(l.Op))
			sb.WriteString(l.Text)
			sb.WriteString("\n")
			if l.NoNewline {
				sb.WriteString("\\ No newline at end of file\n")
			}
		}
	}
	return sb.String()
}

// HunkHeader returns the @@ line of h.
func HunkHeader(h *Hunk) string {
	r := func(start, n int) string {
		if n == 1 {
			return strconv.Itoa(start)
		}
		return fmt.Sprintf("%d,%d", start, n)
	}
	s := fmt.Sprintf("@@ -%s +%s @@", r(h.OldStart, h.OldLines), r(h.NewStart, h.NewLines))
	if h.Section != "" {
		s += " " + h.Section
	}
	return s
}

// Diffstat returns a git-style diffstat of files.
func Diffstat(files []*File) string {
	type row struct {
		path     string
		add, del int
	}
	var rows []row
	width, most := 0, 0
	totalAdd, totalDel := 0, 0
	for _, f := range files {
		r := row{path: f.Path()}
		for _, h := range f.Hunks {
			for _, l := range h.Lines {
				switch l.Op {
				case Insert:
					r.add++
				case Delete:
					r.del++
				}
			}
		}
		totalAdd += r.add
		totalDel += r.del
		if len(r.path) > width {
			width = len(r.path)
		}
		if r.add+r.del > most {
			most = r.add + r.del
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].path < rows[j].path })
	const bar = 50
	var sb strings.Builder
	digits := len(strconv.Itoa(most))
	for _, r := range rows {
		plus, minus := r.add, r.del
		if most > bar {
			plus = scale(r.add, most, bar)
			minus = scale(r.del, most, bar)
		}
		fmt.Fprintf(&sb, " %-*s | %*d %s%s\n", width, r.path, digits, r.add+r.del, strings.Repeat("+", plus), strings.Repeat("-", minus))
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	fmt.Fprintf(&sb, " %d %s changed", len(rows), plural(len(rows), "file", "files"))
	if totalAdd > 0 {
		fmt.Fprintf(&sb, ", %d %s(+)", totalAdd, plural(totalAdd, "insertion", "insertions"))
	}
	if totalDel > 0 {
		fmt.Fprintf(&sb, ", %d %s(-)", totalDel, plural(totalDel, "deletion", "deletions"))
	}
	sb.WriteString("\n")
	return sb.String()
}

func scale(n, most, width int) int {
	if n == 0 {
		return 0
	}
	s := n * width / most
	if s == 0 {
		s = 1
	}
	return s
}
