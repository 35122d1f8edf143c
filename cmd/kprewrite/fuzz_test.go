package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRewrite feeds mutated patches to analyze and rewrite on the hdr tree
// (no config: no compiler runs, so it is fast). Whatever the input, the
// exit status is 0, 1 or 2, a bad input is one error line, and a failed
// rewrite leaves no output file.
func FuzzRewrite(f *testing.F) {
	dir := "../../testdata/kernels/hdr"
	seeds, _ := filepath.Glob(dir + "/patches/*.patch")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp := t.TempDir()
		in, out := filepath.Join(tmp, "in.patch"), filepath.Join(tmp, "out.patch")
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"analyze", "rewrite"} {
			args := []string{cmd, "--tree", dir}
			if cmd == "rewrite" {
				args = append(args, "-o", out)
			}
			code, _, errs := kp(t, append(args, in)...)
			switch code {
			case exitOK, exitNeedsHuman:
			case exitBadInput:
				if lines := strings.Split(strings.TrimRight(errs, "\n"), "\n"); len(lines) != 1 {
					t.Errorf("%s: bad input gives %d lines: %q", cmd, len(lines), errs)
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("%s: output file written on bad input", cmd)
				}
			default:
				t.Errorf("%s: exit %d: %s", cmd, code, errs)
			}
		}
	})
}
