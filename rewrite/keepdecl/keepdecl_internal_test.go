package keepdecl

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
)

// TestEnclosing: the directives of the groups around a line, the include
// guard's left out, a '#' inside a comment no directive.
func TestEnclosing(t *testing.T) {
	src := "#ifndef _X_H\n#define _X_H\n/*\n#if NOT_A_DIRECTIVE\n */\n#ifdef CONFIG_A\n#if B\n#define W 1\n#else\n#define W 2\n#endif\n#endif\n#endif\n"
	f := ast.Parse("x.h", []byte(src))
	want := map[int]bool{6: true, 7: true, 9: true, 11: true, 12: true}
	if diff := cmp.Diff(want, enclosing(f, 8)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStructAlone: a struct definition comes back alone only when no
// declarator follows its closing brace (attributes may).
func TestStructAlone(t *testing.T) {
	for src, alone := range map[string]bool{
		"struct a {\n\tint x;\n};\n":                      true,
		"struct a {\n\tint x;\n} __packed;\n":             true,
		"struct a {\n\tint x;\n} __aligned(8);\n":         true,
		"struct a {\n\tint x;\n} a_obj;\n":                false,
		"struct a {\n\tint x;\n} *a_ptr;\n":               false,
		"struct a {\n\tint x;\n} __percpu a_pcpu;\n":      false,
		"struct a {\n\tint x;\n} a_tab[2] = { 0 };\n":     false,
		"struct a {\n\tint x;\n} __attribute__((x)) b;\n": false,
	} {
		f := ast.Parse("a.c", []byte(src))
		r := &removal{name: "struct a", strct: f.Structs[0]}
		if why := r.locate(f); (why == "") != alone {
			t.Errorf("%q: locate says %q, want alone %v", src, why, alone)
		}
	}
}

// TestGeneratorExpansion: a generator is kept only when its expansion is
// static inline functions and nothing else, the invocation's ';' closing
// what the body leaves open.
func TestGeneratorExpansion(t *testing.T) {
	for body, ok := range map[string]bool{
		"static inline int g_##n(void) { return b; }":                                   true,
		"static inline int g_##n(void) { return b; } static const char n##_s[] = \"x\"": false,
		"static inline int g_##n(void) { return b; } DATA":                              false,
		"int g_##n(void) { return b; }":                                                 false,
		"static inline int g_##n(void) { return #b[0]; }":                               true,
		"# define X 1": false,
	} {
		src := "#define GEN(n, b) " + body + "\nGEN(x, 1);\n"
		f := ast.Parse("g.h", []byte(src))
		r := &removal{name: "GEN(x, 1)", call: &ast.MacroCall{Name: "GEN"}}
		if why := r.locate(f); (why == "") != ok {
			t.Errorf("%q: locate says %q, want ok %v", body, why, ok)
		}
	}
}
