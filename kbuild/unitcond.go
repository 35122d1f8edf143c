package kbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CondsInUnit evaluates #if expressions the way the compiler sees them at
// the end of one translation unit. The unit's own compiler command, from
// its .cmd file in objTree, preprocesses a file that includes the unit's
// source and then tests each expression, so a macro that a header defines
// from the config (USE_CMPXCHG_LOCKREF, ALLOC_SPLIT_PTLOCKS, the byte
// order) is decided as that unit saw it, where EvalExpr, which reads only
// the config, cannot decide it.
//
// obj is the object relative to objTree ("init/main.o"). The result maps
// every expression to its value; an error says why the compiler could not
// answer (no .cmd file, a preprocessing error): no evidence either way.
func CondsInUnit(ctx context.Context, objTree, obj string, exprs []string) (map[string]bool, error) {
	cmd, err := ReadCmdFile(cmdPath(objTree, obj))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", obj, err)
	}
	args, err := cmd.CompilerArgs()
	if err != nil || len(args) == 0 {
		return nil, fmt.Errorf("%s: its compiler command cannot be read: %v", obj, err)
	}
	src := cmd.Source
	if src == "" {
		src = args[len(args)-1]
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(objTree, src)
	}
	tmp, err := os.CreateTemp("", "kprewrite-cond-*.c")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	var b strings.Builder
	fmt.Fprintf(&b, "#include %q\n", src)
	for i, e := range exprs {
		fmt.Fprintf(&b, "#if %s\nkprewrite_cond_%d_true\n#else\nkprewrite_cond_%d_false\n#endif\n", e, i, i)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	pre := preprocessArgs(args, cmd.Source, tmp.Name())
	c := exec.CommandContext(ctx, pre[0], pre[1:]...)
	c.Dir = objTree
	var out, stderr bytes.Buffer
	c.Stdout, c.Stderr = &out, &stderr
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("%s: preprocessing with the conditions failed: %v: %s", obj, err, firstLine(stderr.String()))
	}
	got := map[string]bool{}
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(l)
		for i, e := range exprs {
			switch l {
			case fmt.Sprintf("kprewrite_cond_%d_true", i):
				got[e] = true
			case fmt.Sprintf("kprewrite_cond_%d_false", i):
				got[e] = false
			}
		}
	}
	for _, e := range exprs {
		if _, ok := got[e]; !ok {
			return nil, fmt.Errorf("%s: the preprocessed unit does not say whether %s holds", obj, e)
		}
	}
	return got, nil
}

// preprocessArgs turns a kbuild compile command into one that preprocesses
// file to stdout: -c and the dependency and output options go, the source
// is replaced.
func preprocessArgs(args []string, source, file string) []string {
	out := []string{args[0]}
	replaced := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" || a == "-S" || a == "-E":
		case a == "-o":
			i++
		case strings.HasPrefix(a, "-Wp,-MMD") || strings.HasPrefix(a, "-Wp,-MD"):
		case !replaced && (a == source || (source == "" && i == len(args)-1)):
			out = append(out, file)
			replaced = true
		default:
			out = append(out, a)
		}
	}
	if !replaced {
		out = append(out, file)
	}
	return append(out, "-E", "-P", "-o", "-")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
