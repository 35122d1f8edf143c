package build

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/kbuild"
)

// TestToolchainFailure: a compile that ran and printed an error is a
// failed Result (evidence); a compiler that is missing, dies, or fails
// without an error diagnostic is a kperr.Toolchain error (issue 13 item 1).
func TestToolchainFailure(t *testing.T) {
	cases := []struct {
		name      string
		script    string // "" for no gcc at all
		toolchain bool
	}{
		{"missing", "", true},
		{"silent exit 1", "exit 1", true},
		{"crash", "kill -SEGV $$", true},
		{"warning only, exit 1", `for a; do s=$a; done; echo "$s:1:1: warning: w" >&2; exit 1`, true},
		{"error diagnostic", `for a; do s=$a; done; echo "$s:3:5: error: expected ';'" >&2; exit 1`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := t.TempDir()
			if c.script != "" {
				os.WriteFile(filepath.Join(bin, "gcc"), []byte("#!/bin/sh\n"+c.script+"\n"), 0o755)
			}
			t.Setenv("PATH", bin)
			env, err := kbuild.Open("../testdata/kernels/hdr", "../testdata/kernels/hdr/config", kbuild.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			comp := &Compiler{Env: env, Dir: t.TempDir(), Jobs: 1}
			rs, err := comp.Compile(context.Background(), &Variant{Name: "base"}, []string{"kernel/ring.c"}, Options{SyntaxOnly: true})
			if c.toolchain {
				if kperr.KindOf(err) != kperr.Toolchain {
					t.Errorf("want a toolchain failure, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !rs[0].Failed || len(rs[0].Diagnostics) != 1 || rs[0].Diagnostics[0].File != "kernel/ring.c" || rs[0].Diagnostics[0].Line != 3 {
				t.Errorf("want the diagnostic as evidence: %+v", rs[0])
			}
		})
	}
}
