package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Kinds are the kinds of change a fix may be filed under.
var Kinds = []string{"member-added", "member-removed", "member-retyped", "bitfield", "if-condition", "prototype", "typedef", "export", "inline", "macro", "other"}

// Manifest is the curated list of fixes.
type Manifest struct {
	Fixes []*Fix
}

// Fix is one upstream fix: the hunks of the diff that belong to it.
type Fix struct {
	ID      string
	Subject string   // as in Debian's changelog
	Kind    string   // one of Kinds
	Files   []string // every hunk of these files
	Hunks   []Anchor // the hunks of a file that match an anchor
	Notes   []string
	// Decisions are an engineer's answers to a refusal, given to rewrite
	// as --existing flags ("struct X.member=EXPR") in a second run: the
	// case stays refused in the automatic count, and the table says
	// whether the decision is enough to prove it.
	Decisions []string
	Line      int // where the fix starts in the manifest
}

// Anchor selects the hunks of File whose diff -p function line or changed
// lines contain Text.
type Anchor struct {
	File, Text string
	Line       int
}

// decisionRE is a decision line's text, as rewrite's --existing takes it.
var decisionRE = regexp.MustCompile(`^(struct|union) [A-Za-z_]\w*\.[A-Za-z_]\w*=\S.*$`)

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

func readManifestFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := parseManifest(bufio.NewScanner(f))
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return m, nil
}

// parseManifest reads the manifest format:
//
//	fix ID
//	subject TEXT
//	kind KIND
//	file PATH
//	hunk PATH ANCHOR TEXT
//	note TEXT
//	decide struct X.member=EXPR
//
// '#' starts a comment line; a fix runs to the next "fix" line.
func parseManifest(sc *bufio.Scanner) (*Manifest, error) {
	m := &Manifest{}
	ids := map[string]bool{}
	var cur *Fix
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		if key != "fix" && cur == nil {
			return nil, fmt.Errorf("%d: %q before the first \"fix\" line", n, key)
		}
		switch key {
		case "fix":
			if !idRE.MatchString(rest) || ids[rest] {
				return nil, fmt.Errorf("%d: fix id %q is not a fresh lower-case id", n, rest)
			}
			ids[rest] = true
			cur = &Fix{ID: rest, Line: n}
			m.Fixes = append(m.Fixes, cur)
		case "subject":
			cur.Subject = rest
		case "kind":
			if !validKind(rest) {
				return nil, fmt.Errorf("%d: kind %q is not one of %s", n, rest, strings.Join(Kinds, ", "))
			}
			cur.Kind = rest
		case "file":
			cur.Files = append(cur.Files, rest)
		case "hunk":
			p, text, ok := strings.Cut(rest, " ")
			if !ok || strings.TrimSpace(text) == "" {
				return nil, fmt.Errorf("%d: hunk needs a path and an anchor text", n)
			}
			cur.Hunks = append(cur.Hunks, Anchor{File: p, Text: strings.TrimSpace(text), Line: n})
		case "note":
			cur.Notes = append(cur.Notes, rest)
		case "decide":
			if !decisionRE.MatchString(rest) {
				return nil, fmt.Errorf("%d: decide wants \"struct X.member=EXPR\", not %q", n, rest)
			}
			cur.Decisions = append(cur.Decisions, rest)
		default:
			return nil, fmt.Errorf("%d: unknown key %q", n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range m.Fixes {
		if f.Subject == "" || f.Kind == "" || len(f.Files)+len(f.Hunks) == 0 {
			return nil, fmt.Errorf("%d: fix %s needs a subject, a kind and at least one file or hunk", f.Line, f.ID)
		}
	}
	return m, nil
}

func validKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

type assignment struct {
	owner     map[*Hunk]*Fix
	errors    []string
	unclaimed []string
}

// assign gives each hunk its fix and records every manifest error: a file
// not in the diff, an anchor that matches no hunk, a hunk claimed twice.
func assign(m *Manifest, files []*File) assignment {
	byPath := map[string]*File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	res := assignment{owner: map[*Hunk]*Fix{}}
	claim := func(h *Hunk, fx *Fix) {
		if o := res.owner[h]; o != nil && o != fx {
			res.errors = append(res.errors, fmt.Sprintf("%s is claimed by both %s and %s", h.Name(), o.ID, fx.ID))
			return
		}
		res.owner[h] = fx
	}
	for _, fx := range m.Fixes {
		for _, p := range fx.Files {
			f := byPath[p]
			if f == nil || len(f.Hunks) == 0 {
				res.errors = append(res.errors, fmt.Sprintf("fix %s: file %s has no hunk in the diff", fx.ID, p))
				continue
			}
			for _, h := range f.Hunks {
				claim(h, fx)
			}
		}
		for _, a := range fx.Hunks {
			f := byPath[a.File]
			matched := 0
			if f != nil {
				for _, h := range f.Hunks {
					if h.matches(a.Text) {
						claim(h, fx)
						matched++
					}
				}
			}
			if matched == 0 {
				res.errors = append(res.errors, fmt.Sprintf("fix %s: no hunk of %s matches %q (manifest line %d)", fx.ID, a.File, a.Text, a.Line))
			}
		}
	}
	return res
}

func (h *Hunk) matches(text string) bool {
	if strings.Contains(h.Context, text) {
		return true
	}
	for _, l := range h.Changed() {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}
