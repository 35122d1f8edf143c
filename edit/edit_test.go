package edit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApply(t *testing.T) {
	t.Parallel()
	src := []byte("int a;\nint b;\n")
	got, err := Apply(src, []Edit{
		{Off: 11, End: 12, Text: "c"},     // b -> c
		Insert("", 0, "#include <x.h>\n"), // at the start
		{Off: 4, End: 5, Text: "aa"},      // a -> aa
		Insert("", 14, "int d;\n"),        // at the end
		Insert("", 14, "int e;\n"),        // same place: in proposal order
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "#include <x.h>\nint aa;\nint c;\nint d;\nint e;\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestApplyRefusesOverlaps(t *testing.T) {
	t.Parallel()
	src := []byte("0123456789")
	_, err := Apply(src, []Edit{{File: "f.c", Off: 2, End: 5, Text: "x", Why: "one"}, {File: "f.c", Off: 4, End: 6, Text: "y", Why: "two"}})
	if err == nil || !strings.Contains(err.Error(), `f.c: conflicting edits at byte 4: "one" and "two"`) {
		t.Errorf("overlap: got %v", err)
	}
	_, err = Apply(src, []Edit{{Off: 8, End: 11, Text: "x", Why: "past the end"}})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("out of range: got %v", err)
	}
	// touching edits do not overlap
	if _, err := Apply(src, []Edit{{Off: 2, End: 4, Text: "x"}, {Off: 4, End: 6, Text: "y"}}); err != nil {
		t.Errorf("adjacent edits: %v", err)
	}
}

func TestApplyOffsets(t *testing.T) {
	t.Parallel()
	out, starts, err := ApplyOffsets([]byte("abcdef"), []Edit{{Off: 4, End: 5, Text: "XYZ"}, {Off: 1, End: 2, Text: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "acdXYZf" || !cmp.Equal(starts, []int{1, 3}) {
		t.Errorf("got %q %v", out, starts)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	cases := []struct{ old, new string }{
		{"a\nb\nc\n", "a\nb\nc\n"},
		{"a\nb\nc\n", "a\nB\nc\n"},
		{"a\nb\nc\nd\ne\n", "a\nc\nd\nE\ne\nf\n"},
		{"", "x\n"},
		{"x\ny\n", ""},
		{"s {\n\tint a;\n\tint b;\n};\n", "s {\n\tint a;\n};\n"},
	}
	for _, c := range cases {
		es := Diff("h.h", []byte(c.old), []byte(c.new))
		got, err := Apply([]byte(c.old), es)
		if err != nil {
			t.Fatalf("%q -> %q: %v", c.old, c.new, err)
		}
		if string(got) != c.new {
			t.Errorf("%q -> %q: applying %v gives %q", c.old, c.new, es, got)
		}
		if c.old == c.new && len(es) != 0 {
			t.Errorf("equal texts give edits %v", es)
		}
	}
	// precise: one changed line in a long text is one small edit
	old := strings.Repeat("line\n", 1000) + "x\n" + strings.Repeat("line\n", 1000)
	es := Diff("h.h", []byte(old), []byte(strings.Replace(old, "x\n", "y\n", 1)))
	if len(es) != 1 || es[0].Off != 5000 || es[0].End != 5002 || es[0].Text != "y\n" || es[0].File != "h.h" {
		t.Errorf("got %+v", es)
	}
}

func TestMustApplyPanicsOnOverlap(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	MustApply("abc", []Edit{{Off: 0, End: 2}, {Off: 1, End: 3}})
}

// TestDiffLongFile: two changes far apart in a file too long for the
// comparison table are still two edits, each of its own lines (a
// transform that undoes one run must not undo the other).
func TestDiffLongFile(t *testing.T) {
	var old, cur strings.Builder
	for i := 0; i < 3000; i++ {
		line := fmt.Sprintf("line %d\n", i)
		old.WriteString(line)
		switch i {
		case 10:
			// removed
		case 2900:
			cur.WriteString(line + "added\n")
		default:
			cur.WriteString(line)
		}
	}
	es := Diff("f.c", []byte(old.String()), []byte(cur.String()))
	if len(es) != 2 {
		t.Fatalf("got %d edits, want 2: %+v", len(es), es)
	}
	if es[0].Text != "" || string([]byte(old.String())[es[0].Off:es[0].End]) != "line 10\n" {
		t.Errorf("first edit %+v, want the removal of line 10", es[0])
	}
	if es[1].Text != "added\n" || es[1].Off != es[1].End {
		t.Errorf("second edit %+v, want the insertion of one line", es[1])
	}
	got, err := Apply([]byte(old.String()), es)
	if err != nil || string(got) != cur.String() {
		t.Errorf("the edits do not give the new text (%v)", err)
	}
}
