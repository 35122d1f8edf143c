package sites

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
)

func TestCandidates(t *testing.T) {
	for typ, want := range map[string][]string{
		"u8":                  {"0", "1", "U8_MAX"},
		"uint32_t":            {"0", "1", "U32_MAX"},
		"unsigned long":       {"0", "1", "ULONG_MAX"},
		"int":                 {"0", "1", "-1"},
		"loff_t":              {"0", "1", "-1"},
		"short int":           {"0", "1", "-1"},
		"signed char":         {"0", "1", "-1"},
		"bool":                {"false", "true"},
		"struct foo *":        {"NULL"},
		"const char *":        {"NULL"},
		"enum state":          {"0"},
		"struct vmcb_seg":     {"(struct vmcb_seg){}"},
		"union ktime_parts":   {"(union ktime_parts){}"},
		"gpa_t":               {"0"},
		"unsigned  int":       {"0", "1", "U32_MAX"},
		"const unsigned char": {"0", "1", "U8_MAX"},
	} {
		if diff := cmp.Diff(want, candidates(typ)); diff != "" {
			t.Errorf("candidates(%q) (-want +got):\n%s", typ, diff)
		}
	}
}

func TestOutputArgument(t *testing.T) {
	src := `void f(struct intel_dp *intel_dp, struct x *p)
{
	drm_dp_dpcd_read(&intel_dp->aux, 0x3f0, &intel_dp->wa, sizeof(intel_dp->wa));
	drm_dp_dpcd_read(&intel_dp->aux, 0x3f0, &intel_dp->wb.c, 1);
	consume(&p->wc);
	memcpy(&p->wd, &p->we, 4);
}
`
	f := ast.Parse("f.c", []byte(src))
	for _, tc := range []struct {
		member string
		want   bool
	}{
		{"wa", true},   // the buffer drm_dp_dpcd_read() fills
		{"aux", false}, // its first argument is read
		{"wb", false},  // the address of a part of the member
		{"wc", false},  // a function not known to only store
		{"wd", true},   // memcpy's destination
		{"we", false},  // memcpy's source
	} {
		off := strings.Index(src, "->"+tc.member)
		a, err := cexpr.Find(f, off)
		if err != nil {
			t.Fatalf("%s: %v", tc.member, err)
		}
		if _, got := OutputArgument(f, a); got != tc.want {
			t.Errorf("OutputArgument(%s) = %v, want %v (access kind %v)", tc.member, got, tc.want, a.Kind)
		}
	}
}

func TestSubstituteKeepsLines(t *testing.T) {
	src := []byte("int f(struct s *o)\n{\n\treturn o->\n\t\tm + 1;\n}\n")
	f := ast.Parse("f.c", src)
	a, err := cexpr.Find(f, strings.Index(string(src), "->"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(substitute(src, []Use{{File: "f.c", Access: a}}, "((int)(1))"))
	want := "int f(struct s *o)\n{\n\treturn ((int)(1))\n + 1;\n}\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("substitute (-want +got):\n%s", diff)
	}
}
