package rename

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

func TestParamSpan(t *testing.T) {
	src := "int __printf(2, 3) f(struct d *dev,\n\tvoid (*cb)(int a, int b), u32 *p)"
	toks := ast.Tokenize([]byte(src))
	for i, want := range []string{"struct d *dev", "void (*cb)(int a, int b)", "u32 *p"} {
		s, ok := paramSpan(toks, "f", i)
		if !ok || src[s.Off:s.End] != want {
			t.Errorf("paramSpan(%d) = %q, %v; want %q", i, src[s.Off:s.End], ok, want)
		}
	}
	if _, ok := paramSpan(toks, "f", 3); ok {
		t.Error("paramSpan(3) found a fourth parameter")
	}
}

func TestDeclarationNext(t *testing.T) {
	for body, want := range map[string]bool{
		"\tstruct snd_pcm_substream *substream = sps->substream;\n": true,
		"\tu32 x;\n":                          true,
		"\tconst char *name, *p;\n":           true,
		"\n\t/* a comment */\n\tint i = 0;\n": true,
		"\tif (!sps)\n\t\treturn 0;\n":        false,
		"\treturn foo(a);\n":                  false,
		"\tfoo(a, b);\n":                      false,
		"\tx = y;\n":                          false,
		"\t*p = 0;\n":                         false,
	} {
		if got := declarationNext([]byte(body)); got != want {
			t.Errorf("declarationNext(%q) = %v, want %v", body, got, want)
		}
	}
}
