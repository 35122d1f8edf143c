package shadow

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
)

// writtenBefore: a write of the member counts for a later use when it is
// a statement of a block the use is in, with no jump target between.
func TestWrittenBefore(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       bool
	}{
		{"top level", "f->val = 0;\n\tuse(&f->val);", true},
		{"same block", "if (w) {\n\t\tf->val = 0;\n\t\tuse(&f->val);\n\t}", true},
		{"outer block", "f->val = 0;\n\tif (w) {\n\t\tuse(&f->val);\n\t}", true},
		{"closed block", "if (w) {\n\t\tf->val = 0;\n\t}\n\tuse(&f->val);", false},
		{"under a condition", "if (w)\n\t\tf->val = 0;\n\tuse(&f->val);", false},
		{"label between", "f->val = 0;\nagain:\n\tuse(&f->val);", false},
		{"case between", "switch (w) {\n\tcase 1:\n\t\tf->val = 0;\n\tcase 2:\n\t\tuse(&f->val);\n\t}", false},
		{"object reassigned", "f->val = 0;\n\tf = g;\n\tuse(&f->val);", false},
		{"loop clause", "for (i = 0; f->val = 0; i++)\n\t\t;\n\tuse(&f->val);", false},
		{"after the use", "use(&f->val);\n\tf->val = 0;", false},
		{"loop init", "f->val = 0;\n\tfor (f = g; f; f = 0)\n\t\tuse(&f->val);", false},
		{"iterator", "f->val = 0;\n\tlist_for_each_entry(f, &head, list)\n\t\tuse(&f->val);", false},
		{"shadowed", "f->val = 0;\n\t{\n\t\tstruct frag *f = g;\n\n\t\tuse(&f->val);\n\t}", false},
		{"incremented", "f->val = 0;\n\tf++;\n\tuse(&f->val);", false},
		{"while condition", "f->val = 0;\n\twhile ((f = g))\n\t\tuse(&f->val);", false},
		{"address taken", "f->val = 0;\n\tnext(&f);\n\tuse(&f->val);", false},
		{"read between", "f->val = 0;\n\tw = f->len + 1;\n\tuse(&f->val);", true},
		{"member address between", "f->val = 0;\n\tg->data = &f->val;\n\tuse(&f->val);", true},
	} {
		src := "void fn(struct frag *f, struct frag *g, int w, int i)\n{\n\t" + c.body + "\n}\n"
		file := ast.Parse("x.c", []byte(src))
		off := strings.Index(src, "use(&f->val)") + len("use(&f")
		a, err := cexpr.Find(file, off)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := writtenBefore(file, a); got != c.want {
			t.Errorf("%s: writtenBefore = %v, want %v", c.name, got, c.want)
		}
	}
}
