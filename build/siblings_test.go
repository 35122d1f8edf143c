package build

import (
	"context"
	"strings"
	"testing"
)

// TestOverlaySiblings compiles a file whose headers include their siblings
// by quoted includes ("value.h" from hdr/api.h): a changed header must find
// the tree's siblings next to it, and a tree header must find a changed
// sibling in the overlay, not the tree's copy.
func TestOverlaySiblings(t *testing.T) {
	c := miniCompiler(t, map[string]string{
		"Kbuild":                     "obj-y += core/\n",
		"config":                     "CONFIG_64BIT=y\nCONFIG_X86_64=y\n",
		"core/Makefile":              "obj-y += use.o far.o dm.o ath9k.o snd.o tp.o\n",
		"core/tp.c":                  "#define TRACE_PATH ../../core\n#include <trace/define.h>\n\nint tp(void)\n{\n\treturn TP_VALUE;\n}\n",
		"core/tp.h":                  "#define TP_VALUE 7\n",
		"include/trace/define.h":     "#define __str(x) #x\n#define __stringify(x) __str(x)\n#include __stringify(TRACE_PATH/tp.h)\n",
		"core/snd.c":                 "#include <trace/events/snd.h>\n\nint snd(void)\n{\n\treturn SND_VALUE;\n}\n",
		"include/trace/events/snd.h": "#include \"../../../snd/priv.h\"\n",
		"include/trace/other.h":      "#define OTHER 1\n",
		"snd/priv.h":                 "#define SND_VALUE 6\n",
		"core/ath9k.c":               "#include \"common.h\"\n\nint ath9k(void)\n{\n\treturn ATH_VALUE;\n}\n",
		"core/common.h":              "#include \"../ath/ath.h\"\n",
		"ath/ath.h":                  "#define ATH_VALUE 5\n",
		"core/dm.c":                  "#include \"../gpu/gpu.h\"\n\nint dm(void)\n{\n\treturn DM_VALUE;\n}\n",
		"core/dm.h":                  "#define DM_VALUE 4\n",
		"gpu/gpu.h":                  "#include \"dm.h\"\n",
		"core/use.c":                 "#include \"hdr/api.h\"\n\nint use(void)\n{\n\treturn API_VALUE;\n}\n",
		"core/hdr/api.h":             "#include \"value.h\"\n",
		"core/hdr/value.h":           "#define API_VALUE 1\n",
		"core/hdr/other.h":           "#include \"sub/deep.h\"\n",
		"core/hdr/sub/deep.h":        "#define DEEP 2\n",
		"core/far.c":                 "#include \"../mm/internal.h\"\n\nint far(void)\n{\n\treturn MM_VALUE;\n}\n",
		"mm/internal.h":              "#include \"vma.h\"\n",
		"mm/vma.h":                   "#define MM_VALUE 3\n",
	})
	src := []string{"core/use.c"}

	// A changed header whose sibling only the tree has.
	v := &Variant{Name: "hdr", Files: map[string][]byte{"core/hdr/api.h": []byte("/* changed */\n#include \"value.h\"\n")}}
	rs, err := c.Compile(context.Background(), v, src, Options{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Failed {
		t.Errorf("the changed header does not find its sibling: %v", rs[0].Diagnostics)
	}

	// A changed header reached through an unchanged sibling.
	if d, ok := readsOverlay(t, c, &Variant{Name: "val", Files: map[string][]byte{"core/hdr/value.h": []byte("#define API_VALUE from_the_overlay\n")}}, src); !ok {
		t.Errorf("hdr/api.h read the tree's value.h, not the changed one: %v", d)
	}

	// A changed header whose unchanged sibling includes a file of a
	// subdirectory ("sub/deep.h", as include/linux/mod_devicetable.h does
	// "device-id/acpi.h" in Linux 7.x).
	v = &Variant{Name: "sub", Files: map[string][]byte{"core/hdr/api.h": []byte("#include \"value.h\"\n#include \"other.h\"\n")}}
	rs, err = c.Compile(context.Background(), v, src, Options{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Failed {
		t.Errorf("the sibling does not find its subdirectory's header: %v", rs[0].Diagnostics)
	}

	// A changed file whose quoted include lies in another directory, and
	// includes a sibling of its own (kernel/fork.c's "../mm/internal.h",
	// which includes "vma.h" on Linux 7.x).
	v = &Variant{Name: "far", Files: map[string][]byte{"core/far.c": []byte("/* changed */\n#include \"../mm/internal.h\"\n\nint far(void)\n{\n\treturn MM_VALUE;\n}\n")}}
	rs, err = c.Compile(context.Background(), v, []string{"core/far.c"}, Options{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Failed {
		t.Errorf("the reached header does not find its sibling: %v", rs[0].Diagnostics)
	}

	// A changed header beside the source, included by name from a header
	// of another directory (amd/amdgpu/amdgpu.h's "amdgpu_dm.h" for a
	// source in amd/display/amdgpu_dm/): the overlay's copy, not the
	// tree's, though the tree's directory of the source is searched for
	// quoted includes too.
	if d, ok := readsOverlay(t, c, &Variant{Name: "dm", Files: map[string][]byte{"core/dm.h": []byte("#define DM_VALUE from_the_overlay\n")}}, []string{"core/dm.c"}); !ok {
		t.Errorf("gpu/gpu.h read the tree's core/dm.h, not the changed one: %v", d)
	}

	// An unchanged header beside the source includes a changed one of
	// another directory ("common.h" of ath9k includes "../ath.h"): the
	// source's own directory is in the overlay, so common.h is read there
	// and its relative include reaches the overlay's ath.h, not the tree's.
	if d, ok := readsOverlay(t, c, &Variant{Name: "ath", Files: map[string][]byte{"ath/ath.h": []byte("#define ATH_VALUE from_the_overlay\n")}}, []string{"core/ath9k.c"}); !ok {
		t.Errorf("core/common.h read the tree's ath/ath.h, not the changed one: %v", d)
	}

	// A header found by an angle include (<trace/events/snd.h>, as
	// sound/soc/sof/intel/hda-ipc.c includes <trace/events/sof_intel.h>)
	// includes a changed file by a relative path ("../../../snd/priv.h",
	// sof_intel.h's sof-audio.h, which includes sof-priv.h): it must be
	// read from the overlay, or its include reaches the tree's copy and the
	// unit mixes the two versions. Its directory must be a real one there:
	// ".." through a linked directory resolves in the tree.
	for _, name := range []string{"snd", "snd2"} {
		files := map[string][]byte{"snd/priv.h": []byte("#define SND_VALUE from_the_overlay\n")}
		if name == "snd2" {
			// a changed header of include/trace links include/trace/events as
			// one directory link first
			files["include/trace/other.h"] = []byte("#define OTHER 2\n")
		}
		if d, ok := readsOverlay(t, c, &Variant{Name: name, Files: files}, []string{"core/snd.c"}); !ok {
			t.Errorf("%s: include/trace/events/snd.h read the tree's snd/priv.h, not the changed one: %v", name, d)
		}
	}

	// define_trace.h's computed include of a driver's trace header, by a
	// path relative to include/trace/: the changed header, not the tree's.
	if d, ok := readsOverlay(t, c, &Variant{Name: "tp", Files: map[string][]byte{"core/tp.h": []byte("#define TP_VALUE from_the_overlay\n")}}, []string{"core/tp.c"}); !ok {
		t.Errorf("include/trace/define.h read the tree's core/tp.h, not the changed one: %v", d)
	}
}

// readsOverlay compiles src in variant v and reports whether gcc read the
// overlay's value ("from_the_overlay" undeclared), with its diagnostics.
func readsOverlay(t *testing.T, c *Compiler, v *Variant, src []string) ([]Diagnostic, bool) {
	t.Helper()
	rs, err := c.Compile(context.Background(), v, src, Options{SyntaxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Errors(rs) {
		if strings.Contains(d.Message, "'from_the_overlay' undeclared") {
			return rs[0].Diagnostics, true
		}
	}
	return rs[0].Diagnostics, false
}
