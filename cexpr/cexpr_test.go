package cexpr

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
)

// rewrite finds every "->m" / ".m" access in src and rewrites them with
// get/set accessors.
func rewrite(t *testing.T, src string) (string, []error) {
	t.Helper()
	f := ast.Parse("t.c", []byte(src))
	var accs []*Access
	for _, tk := range f.Tokens {
		if tk.Kind == ast.Directive {
			for _, s := range ast.Tokenize([]byte(tk.Text[1:])) {
				if (s.Text == "->" || s.Text == ".") && strings.HasPrefix(tk.Text[1+s.End:], "m") {
					a, err := Find(f, tk.Off+1+s.Off)
					if err != nil {
						t.Fatal(err)
					}
					accs = append(accs, a)
				}
			}
		}
		if (tk.Text == "->" || tk.Text == ".") && strings.HasPrefix(string(f.Src[tk.End:]), "m") {
			a, err := Find(f, tk.Off)
			if err != nil {
				t.Fatal(err)
			}
			accs = append(accs, a)
		}
	}
	r := &Rewriter{Src: f.Src,
		Get: func(a *Access, obj string) string { return "get_" + a.Name + "(" + AddressOf(obj, a.Arrow) + ")" },
		Set: func(a *Access, obj, val string) string {
			return "set_" + a.Name + "(" + AddressOf(obj, a.Arrow) + ", " + val + ")"
		},
	}
	edits, errs := r.Rewrite(accs)
	if errs != nil {
		return "", errs
	}
	out, err := edit.Apply([]byte(src), edits)
	if err != nil {
		return "", []error{err}
	}
	return string(out), nil
}

func TestRewriteForms(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"if (s->m)\n\tx();\n", "if (get_m(s))\n\tx();\n"},
		{"s->m = 1;\n", "set_m(s, 1);\n"},
		{"if (c)\n\ts->m = a + b;\n", "if (c)\n\tset_m(s, a + b);\n"},
		{"s->m |= f(x) ? 1 : 0;\n", "set_m(s, get_m(s) | (f(x) ? 1 : 0));\n"},
		{"s->m++;\n", "set_m(s, get_m(s) + 1);\n"},
		{"--bond->slave->m;\n", "set_m(bond->slave, get_m(bond->slave) - 1);\n"},
		{"v.m = w.m;\n", "set_m(&v, get_m(&w));\n"},
		{"s->m = !s->m;\n", "set_m(s, !get_m(s));\n"},
		{"arr[i]->m = 0;\n", "set_m(arr[i], 0);\n"},
		{"x = first(b)->m && (p)->m;\n", "x = get_m(first(b)) && get_m((p));\n"},
		{"x = (struct s *)p->m;\n", "x = (struct s *)get_m(p);\n"},
		{"#define IS(p) ((p)->m)\n", "#define IS(p) (get_m((p)))\n"},
	}
	for _, c := range cases {
		got, errs := rewrite(t, c.in)
		if errs != nil {
			t.Errorf("%q: %v", c.in, errs)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"p = &s->m;\n",
		"n = sizeof(s->m);\n",
		"typeof(s->m) v;\n",
		"x = (s->m = 1);\n",
		"f(s)->m++;\n",
		"if (s->m++)\n\t;\n",
	} {
		if _, errs := rewrite(t, in); errs == nil {
			t.Errorf("%q: rewritten, want refused", in)
		}
	}
}

// A compound literal assigned to an object sets the member with a
// designator: the entry goes, and the store follows the statement (the
// literal zeroes what it does not name, so the store must come after it).
func TestDesignator(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"\t*e = (struct s) {\n\t\t.a = 1,\n\t\t.m = d->x,\n\t\t.b = 2,\n\t};\n\tgo(e);\n",
			"\t*e = (struct s) {\n\t\t.a = 1,\n\t\t.b = 2,\n\t};\n\tset_m(e, d->x);\n\tgo(e);\n"},
		{"*e = (struct s){ .a = 1, .m = 2 };\n", "*e = (struct s){ .a = 1 };\nset_m(e, 2);\n"},
		{"x = (struct s){ .m = 3, .a = 1 };\n", "x = (struct s){ .a = 1 };\nset_m(&x, 3);\n"},
	}
	for _, c := range cases {
		got, errs := rewrite(t, c.in)
		if errs != nil {
			t.Errorf("%q: %v", c.in, errs)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.in, diff)
		}
	}
	for _, in := range []string{
		"struct s v = { .a = 1, .m = 2 };\n",      // a declaration: no statement may follow it here
		"*e = (struct s){ .a = 1, .m = f(x) };\n", // the call would move after the literal
		"*e = (struct s){ .a = 1, .m = e->a };\n", // reads the object the literal overwrites
		"*e = (struct s){ .t = { .m = 1 } };\n",   // nested
		"g((struct s){ .a = 1, .m = 2 });\n",      // not assigned to an object
	} {
		f := ast.Parse("t.c", []byte(in))
		off := strings.Index(in, ".m")
		if a, err := Find(f, off); err == nil {
			t.Errorf("%q: read as %v, want an error", in, a.Kind)
		}
	}
}

func TestTruth(t *testing.T) {
	for _, c := range []struct {
		expr     string // "X" is the value tested
		zero, ok bool
	}{
		{"if (X) f();", false, true},
		{"if (!X) f();", true, true},
		{"if (unlikely(!X)) f();", true, true},
		{"if (a || !X) f();", true, true},
		{"return X == NULL;", true, true},
		{"return X != 0;", false, true},
		{"while ((X)) f();", false, true},
		{"y = X ? 1 : 2;", false, true},
		{"y = X;", false, false},
		{"f(X);", false, false},
		{"return X == 2;", false, false},
	} {
		toks := ast.Parse("t.c", []byte("void g(void) { "+c.expr+" }")).Tokens
		i := slices.IndexFunc(toks, func(tk ast.Token) bool { return tk.Text == "X" })
		zero, ok := Truth(toks, i, i)
		if zero != c.zero || ok != c.ok {
			t.Errorf("Truth(%q) = %v, %v; want %v, %v", c.expr, zero, ok, c.zero, c.ok)
		}
	}
}

func TestAddressOf(t *testing.T) {
	for obj, want := range map[string]string{
		"conn":               "&conn",
		"hard_iface->bat_iv": "&hard_iface->bat_iv",
		"tbl[i].x":           "&tbl[i].x",
		"to_dev(p)->priv":    "&to_dev(p)->priv",
		"*p":                 "&(*p)",
		"a ? b : c":          "&(a ? b : c)",
		"p->a + 1":           "&(p->a + 1)",
	} {
		if got := AddressOf(obj, false); got != want {
			t.Errorf("AddressOf(%q) = %q, want %q", obj, got, want)
		}
	}
	if got := AddressOf("p", true); got != "p" {
		t.Errorf("a pointer is its own address: got %q", got)
	}
}
