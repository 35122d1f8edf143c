package sites

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// TestHeapVar: an allocation assigned to a member or through a pointer is
// kept beyond its function, whatever error path frees it (nouveau's
// drm->led lives as long as the device); one assigned to a local and
// freed in the function is not.
func TestHeapVar(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantVar    string
		escapes    bool
	}{
		{"member", "drm->led = kzalloc(sizeof(*drm->led), GFP_KERNEL);\n\tif (!drm->led)\n\t\treturn -ENOMEM;\n\tif (err) {\n\t\tkfree(drm->led);\n\t\treturn err;\n\t}\n\treturn 0;", "", true},
		{"through a pointer", "*pp = kzalloc(sizeof(**pp), GFP_KERNEL);\n\tkfree(*pp);\n\treturn 0;", "", true},
		{"declared local, freed", "struct led *p = kzalloc(sizeof(*p), GFP_KERNEL);\n\tuse(p);\n\tkfree(p);\n\treturn 0;", "p", false},
		{"local, freed", "p = kzalloc(sizeof(*p), GFP_KERNEL);\n\tuse(p);\n\tkfree(p);\n\treturn 0;", "p", false},
	} {
		src := "int f(struct drm *drm, struct led **pp)\n{\n\tstruct led *p;\n\tint err = 0;\n\n\t" + tc.body + "\n}\n"
		f := ast.Parse("x.c", []byte(src))
		st := &Site{File: "x.c", Kind: Heap, Off: strings.Index(src, "kzalloc")}
		if got := heapVar(f, st); got != tc.wantVar {
			t.Errorf("%s: heapVar = %q, want %q", tc.name, got, tc.wantVar)
		}
		if got := heapEscape(f, st); (got != "") != tc.escapes {
			t.Errorf("%s: heapEscape = %q, want escape %v", tc.name, got, tc.escapes)
		}
	}
}

// TestHasStatement: a creating statement is found in the running
// kernel's code only whole (kmalloc is not kzalloc, xp is not p).
func TestHasStatement(t *testing.T) {
	orig := joinedCode([]byte("int f(struct chan *chan)\n{\n\tchan->cgrp = kmalloc(sizeof(*chan->cgrp), GFP_KERNEL);\n\txp = kzalloc(8, GFP_KERNEL);\n\treturn 0;\n}\n"))
	for stmt, want := range map[string]bool{
		"chan->cgrp = kmalloc(sizeof(*chan->cgrp), GFP_KERNEL)": true,
		"chan->cgrp = kzalloc(sizeof(*chan->cgrp), GFP_KERNEL)": false,
		"p = kzalloc(8, GFP_KERNEL)":                            false,
		"xp = kzalloc(8, GFP_KERNEL)":                           true,
	} {
		if got := hasStatement(orig, stmt); got != want {
			t.Errorf("hasStatement(%q) = %v, want %v (in %q)", stmt, got, want, orig)
		}
	}
	if !allocates("\tif (!(p = kmalloc(sizeof(*p), GFP_KERNEL)))") || allocates("\tp = kmalloc(n, GFP_KERNEL);") {
		t.Errorf("allocates: an allocation with a sizeof is one, without is not")
	}
}

// TestSizesThrough: a file that allocates the struct through a holder's
// pointer member is a candidate though it never names the struct.
func TestSizesThrough(t *testing.T) {
	holders := map[string]bool{"cgrp": true}
	for src, want := range map[string]bool{
		"if (!(chan->cgrp = kmalloc(sizeof(*chan->cgrp), GFP_KERNEL)))": true,
		"x.cgrp = kzalloc_obj(*x.cgrp);":                                true,
		"p = kzalloc(sizeof( *ch[1]->base.cgrp ), GFP_KERNEL);":         true,
		"chan->runl = kmalloc(sizeof(*chan->runl), GFP_KERNEL);":        false,
		"n = sizeof(chan->cgrp);":                                       false,
	} {
		if got := sizesThrough([]byte(src), holders); got != want {
			t.Errorf("sizesThrough(%q) = %v, want %v", src, got, want)
		}
	}
}
