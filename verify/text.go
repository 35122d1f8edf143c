package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	verdict := "PROVEN: the patch is safe to hand to a livepatch builder"
	switch {
	case r.NotProven():
		verdict = "NOT PROVEN: a check the proof needs could not run (see [skip]); nothing shows the patch is safe"
	case !r.OK:
		verdict = "FAILED: the patch is not safe to hand to a livepatch builder"
	}
	fmt.Fprintf(w, "kprewrite verify: %s\n\n", verdict)
	for _, c := range r.Checks {
		mark := "ok  "
		switch {
		case c.Skipped:
			mark = "skip"
		case !c.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  [%s] %-9s %s\n", mark, c.Name, c.Summary)
		for _, d := range c.Details {
			fmt.Fprintf(w, "                   %s\n", d)
		}
	}
	if len(r.Layouts) > 0 {
		fmt.Fprintln(w, "\nLayouts (DWARF, base -> patched):")
		for _, l := range r.Layouts {
			where := ""
			if l.Header != "" {
				where = " (" + l.Header + ")"
			}
			state := "identical in the rewritten build"
			if !l.Identical {
				state = "CHANGED by the rewritten patch: " + strings.Join(l.Rewritten, "; ")
			}
			fmt.Fprintf(w, "  %s%s: %s\n", l.Struct, where, state)
			if len(l.Original) > 0 {
				fmt.Fprintf(w, "      the upstream patch would change: %s\n", strings.Join(l.Original, "; "))
			}
		}
	}
	if len(r.Objects) > 0 {
		fmt.Fprintln(w, "\nChanged functions per object:")
		for _, o := range r.Objects {
			fmt.Fprintf(w, "  %s\n", o.Object)
			fmt.Fprintf(w, "      rewritten: %s\n", list(o.Rewritten))
			if o.Original != nil || len(o.Missing) > 0 {
				fmt.Fprintf(w, "      upstream:  %s\n", list(o.Original))
			}
			if len(o.Missing) > 0 {
				fmt.Fprintf(w, "      MISSING:   %s\n", list(o.Missing))
			}
			if len(o.Shifted) > 0 {
				fmt.Fprintf(w, "      shifted:   %s (upstream changes them only by layout shifts: the same code in the base and upstream units, reaching only code that is the same, naming no retyped or added member)\n", list(o.Shifted))
			}
			if len(o.Inlined) > 0 {
				fmt.Fprintf(w, "      inlined:   %s (the rewritten build has no copy of its own: gcc inlined it into callers the rewritten patch changes)\n", strings.Join(o.Inlined, "; "))
			}
			if len(o.Encoded) > 0 {
				fmt.Fprintf(w, "      encoded:   %s (the rewritten build keeps the running kernel's code for them: %s; those calls encode upstream's operations differently)\n", list(o.Encoded), strings.Join(o.EncodedBy, "; "))
			}
			if len(o.Extra) > 0 {
				fmt.Fprintf(w, "      extra:     %s (changed only by the rewrite)\n", list(o.Extra))
			}
		}
	}
	if len(r.Splits) > 0 {
		fmt.Fprintln(w, "\nPer-object patches:")
		for _, s := range r.Splits {
			fmt.Fprintf(w, "  %-12s %s (%s)\n", s.Object, s.File, strings.Join(s.Files, ", "))
		}
	}
	fmt.Fprintf(w, "\n%s compiled per variant\n", plural(len(r.Compiled), "source file"))
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// WriteJSON prints the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// plural counts things in English: "1 object", "2 objects".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
