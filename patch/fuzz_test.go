package patch

import (
	"os"
	"testing"
)

// FuzzRead: the reader never panics, and whatever it accepts renders to a
// patch it accepts again with the same files and hunks.
func FuzzRead(f *testing.F) {
	if seed, err := os.ReadFile("../testdata/kernels/seed/patches/seed.patch"); err == nil {
		f.Add(seed)
	}
	f.Add([]byte("--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"))
	f.Add([]byte("diff --git a/n.c b/n.c\nnew file mode 100644\n--- /dev/null\n+++ b/n.c\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Read("fuzz", data, Options{Strip: -1})
		if err != nil {
			return
		}
		for _, p := range set.Patches {
			text := Render(p, RenderOptions{})
			again, err := Read("again", text, Options{Strip: -1})
			if err != nil {
				t.Fatalf("rendered patch does not read back: %v\n%s", err, text)
			}
			if len(again.Patches) != 1 || len(again.Patches[0].Files) != len(p.Files) {
				t.Fatalf("file count changed")
			}
			for i, f := range p.Files {
				if len(again.Patches[0].Files[i].Hunks) != len(f.Hunks) {
					t.Fatalf("hunk count changed for %s", f.Path())
				}
			}
		}
	})
}

// FuzzDiffApply: Diff followed by ApplyFile gives back the new content.
func FuzzDiffApply(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nc\nd"))
	f.Add([]byte(""), []byte("x\n"))
	f.Fuzz(func(t *testing.T, old, nw []byte) {
		d := Diff("f", old, nw)
		if d == nil {
			if string(old) != string(nw) {
				t.Fatal("nil diff for different contents")
			}
			return
		}
		got, _, err := ApplyFile(d, old)
		if err != nil {
			t.Fatalf("diff does not apply: %v", err)
		}
		if string(got) != string(nw) {
			t.Fatalf("apply(diff(a,b)) = %q, want %q", got, nw)
		}
	})
}
