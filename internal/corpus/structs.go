package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// unclaimedStructHunks lists the header hunks that change a line inside a
// struct or union definition (other than blank and comment lines) and that
// no fix claims. Tools and Documentation are not kernel code and are left
// out.
func unclaimedStructHunks(files []*File, owner map[*Hunk]*Fix, oldTree, newTree string) []string {
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".h") || strings.HasPrefix(f.Path, "tools/") || strings.HasPrefix(f.Path, "Documentation/") {
			continue
		}
		var oldIn, newIn []string
		loaded := false
		for _, h := range f.Hunks {
			if owner[h] != nil {
				continue
			}
			if !loaded {
				oldIn, newIn = enclosing(filepath.Join(oldTree, f.Path)), enclosing(filepath.Join(newTree, f.Path))
				loaded = true
			}
			if s := structsChanged(h, oldIn, newIn); len(s) > 0 {
				out = append(out, h.Name()+": "+strings.Join(s, ", "))
			}
		}
	}
	return out
}

var commentLine = regexp.MustCompile(`^\s*(/\*|\*|//|$)`)

// structsChanged names the structs and unions whose bodies a hunk changes,
// given, for each line of the old and new file, the struct or union being
// defined there.
func structsChanged(h *Hunk, oldIn, newIn []string) []string {
	seen := map[string]bool{}
	o, n := h.OldStart, h.NewStart
	for _, l := range h.Lines {
		switch {
		case strings.HasPrefix(l, "-"):
			if o < len(oldIn) && oldIn[o] != "" && !commentLine.MatchString(l[1:]) {
				seen[oldIn[o]] = true
			}
			o++
		case strings.HasPrefix(l, "+"):
			if n < len(newIn) && newIn[n] != "" && !commentLine.MatchString(l[1:]) {
				seen[newIn[n]] = true
			}
			n++
		case strings.HasPrefix(l, " "):
			o++
			n++
		}
	}
	return sortedKeys(seen)
}

var (
	blockComment = regexp.MustCompile(`/\*.*?\*/`)
	structHead   = regexp.MustCompile(`\b(struct|union)\s+(\w+)?\s*(\{|$)`)
)

// enclosing maps each line (1-based) of a C header to the outermost struct
// or union whose body holds it, "" outside any. A rough scanner: comments
// are stripped, braces counted, and the last "struct X" or "union X" seen
// at depth 0 names the body that the next "{" opens.
func enclosing(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	res := make([]string, len(lines)+2)
	depth, cur, pending, inComment := 0, "", "", false
	for i, l := range lines {
		s := blockComment.ReplaceAllString(l, "")
		if inComment {
			if _, after, ok := strings.Cut(s, "*/"); ok {
				s, inComment = after, false
			} else {
				res[i+1] = cur
				continue
			}
		}
		if before, _, ok := strings.Cut(s, "/*"); ok {
			s, inComment = before, true
		}
		if before, _, ok := strings.Cut(s, "//"); ok {
			s = before
		}
		if depth == 0 {
			if m := structHead.FindStringSubmatch(s); m != nil && (m[3] == "{" || !strings.ContainsAny(s, ";()")) {
				name := m[2]
				if name == "" {
					name = "<anonymous>"
				}
				pending = m[1] + " " + name
			} else if t := strings.TrimSpace(s); t != "" && !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "#") && strings.ContainsAny(t, ";)") {
				pending = ""
			}
		}
		closed := false
		for _, c := range s {
			switch c {
			case '{':
				if depth == 0 {
					cur = pending
				}
				depth++
			case '}':
				if depth > 0 {
					depth--
				}
				closed = true
			}
		}
		if depth > 0 || closed {
			res[i+1] = cur
		}
		if depth == 0 {
			cur = ""
		}
	}
	return res
}
