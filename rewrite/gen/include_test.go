package gen

import (
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
)

func TestInclude(t *testing.T) {
	t.Parallel()
	src := "#include <linux/a.h>\n#include <linux/b.h>\n#include \"local.h\"\n\nint f(void)\n{\n#include \"inside.h\"\n\treturn 0;\n}\n"
	cases := []struct{ line, want string }{
		// a system header goes after the last system include
		{"#include <linux/livepatch.h>", "#include <linux/a.h>\n#include <linux/b.h>\n#include <linux/livepatch.h>\n#include \"local.h\"\n"},
		// a local one after the last include outside a function
		{"#include \"kpatch-macros.h\"", "#include <linux/a.h>\n#include <linux/b.h>\n#include \"local.h\"\n#include \"kpatch-macros.h\"\n"},
	}
	for _, c := range cases {
		f := ast.Parse("x.c", []byte(src))
		e, ok := Include(f, c.line)
		if !ok {
			t.Fatalf("%s: not added", c.line)
		}
		got := edit.MustApply(src, []edit.Edit{e})
		if got[:len(c.want)] != c.want {
			t.Errorf("%s:\n%s", c.line, got)
		}
		if e.File != "x.c" {
			t.Errorf("edit for %q", e.File)
		}
	}
	// already there (by path, whatever the spacing): nothing to add
	if _, ok := Include(ast.Parse("x.c", []byte(src)), "#include   <linux/b.h>"); ok {
		t.Error("added an include the file has")
	}
	// no include at all: at the start of the file
	e, ok := Include(ast.Parse("y.c", []byte("int x;\n")), "#include <linux/a.h>")
	if !ok || edit.MustApply("int x;\n", []edit.Edit{e}) != "#include <linux/a.h>\nint x;\n" {
		t.Errorf("empty file: %+v", e)
	}
	// no include at file scope (kernel/sched/rt.c): after the leading
	// comments, not above the SPDX line; not after an #include inside an
	// initializer (kernel/sched/topology.c)
	for _, c := range []struct{ src, want string }{
		{"// SPDX-License-Identifier: GPL-2.0\n/*\n * rt\n */\n\nint x;\n",
			"// SPDX-License-Identifier: GPL-2.0\n/*\n * rt\n */\n\n#include <linux/livepatch.h>\n\nint x;\n"},
		{"// SPDX-License-Identifier: GPL-2.0\nint x;\n",
			"// SPDX-License-Identifier: GPL-2.0\n\n#include <linux/livepatch.h>\n\nint x;\n"},
		{"#include <linux/a.h>\n\nstatic const int mask =\n#include <linux/flags.h>\n0;\n",
			"#include <linux/a.h>\n#include <linux/livepatch.h>\n\nstatic const int mask =\n#include <linux/flags.h>\n0;\n"},
	} {
		e, ok := Include(ast.Parse("rt.c", []byte(c.src)), "#include <linux/livepatch.h>")
		if got := edit.MustApply(c.src, []edit.Edit{e}); !ok || got != c.want {
			t.Errorf("Include in\n%s\ngives\n%s\nwant\n%s", c.src, got, c.want)
		}
	}
}
