package exports

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// keepRemoved takes an export the upstream change removes: a livepatch
// cannot remove it, and needs not: the running kernel keeps exporting the
// symbol, and modules built against it may link to it. The export line
// goes back. When upstream removes the function too, its definition goes
// back with it, unchanged: the livepatch does not replace a function
// whose code stays the running kernel's, and upstream's code no longer
// calls it. That is refused when the function, put back, does not
// compile with the patched file (it uses what the patch removes).
func keepRemoved(p *rewrite.Pass, e *rewrite.Entry) error {
	ch := e.Change
	fc := p.ChangeOf(e.File)
	if fc == nil || fc.Pre == nil {
		return nil
	}
	var sym string
	var call *ast.MacroCall
	for _, c := range fc.Pre.Calls {
		if c.Name == ch.Name && len(c.Args) > 0 && c.Name+"("+joinArgs(c.Args)+")" == ch.Subject {
			sym, call = c.Args[0], c
			break
		}
	}
	if call == nil {
		return nil
	}
	lines := gen.LinesOf(fc.Pre, call.Span)
	cur := p.Parse(e.File)
	src := p.File(e.File)
	var back []byte
	how := fmt.Sprintf("the export of %s stays: a livepatch cannot remove it, the running kernel keeps exporting %s to the modules built against it, and upstream's code no longer needs it", sym, sym)
	if defined(cur, sym) {
		if f := cur.Func(sym); f != nil && f.Has("static") {
			p.RefuseManual(e, sym+" becomes static upstream: its export cannot stay on a static function",
				"keep "+sym+" global with its export in the patched file, or leave this change out of the livepatch")
			return nil
		}
	} else {
		old := fc.Pre.Func(sym)
		if old == nil || len(fc.Pre.Definitions(sym)) != 1 {
			p.RefuseManual(e, sym+" is gone from "+e.File+" upstream and is no function the file defined once: its export cannot come back alone",
				"keep "+sym+" and its export in the patched file")
			return nil
		}
		var ok bool
		if back, ok = withDefinition(fc.Pre, cur, old, call); !ok {
			p.RefuseManual(e, sym+" cannot be put back with its export in "+e.File+": the export is not the line after it, or no function the file keeps is next to it",
				"keep "+sym+" and its export in the patched file")
			return nil
		}
		how = fmt.Sprintf("%s and its export stay, unchanged: a livepatch cannot remove an export, the running kernel keeps %s for the modules built against it, and the livepatch does not replace a function whose code stays the running kernel's (upstream's code no longer calls it)", sym, sym)
	}
	if back == nil {
		back = gen.RestoreLines(p.Original(e.File), src, lines)
	}
	if !defined(ast.Parse(e.File, back), sym) {
		p.RefuseManual(e, "putting back the lines of "+sym+" does not define it again in "+e.File, "keep "+sym+" and its export in the patched file")
		return nil
	}
	if !p.HasCompiler() && !defined(cur, sym) {
		p.RefuseManual(e, "without a configured tree the compiler cannot show that "+sym+" compiles back in "+e.File,
			"keep "+sym+" and its export in the patched file")
		return nil
	}
	why := ""
	if p.HasCompiler() {
		var err error
		if why, err = newErrors(p, e.File, back); err != nil {
			if kperr.IsEnvironment(err) {
				return err
			}
			why = err.Error()
		}
	}
	if why != "" {
		p.RefuseManual(e, fmt.Sprintf("%s, put back with its export, does not compile with the patched %s: %s", sym, e.File, why),
			"keep "+sym+" in the patched file with what it uses, or leave this change out of the livepatch")
		return nil
	}
	for _, ed := range edit.Diff(e.File, src, back) {
		ed.Why, ed.Hazard = "removed export kept", e.Hazard
		p.Edit(ed)
	}
	p.Resolve(e, how)
	return nil
}

// withDefinition returns cur's text with the removed function old put
// back as the original had it, with the export call that follows it (nil
// when another line is in between), after the nearest function before it that cur still defines,
// or before the nearest one after it. The lines of a whole definition are
// put back as one text: a line diff may have matched its braces and body
// with another function's.
func withDefinition(pre, cur *ast.File, old *ast.Func, call *ast.MacroCall) ([]byte, bool) {
	end := old.Span.End
	if call.Span.Off < end || strings.TrimSpace(string(pre.Src[end:call.Span.Off])) != "" {
		return nil, false // the export is not the line after the function
	}
	end = call.Span.End
	text := string(pre.Src[ast.LineStart(pre.Src, old.Span.Off):ast.LineEnd(pre.Src, end)])
	var before, after *ast.Func
	for _, f := range pre.Funcs {
		if f == old || cur.Func(f.Name) == nil {
			continue
		}
		if f.Span.End <= old.Span.Off {
			before = f
		} else if after == nil && f.Span.Off >= old.Span.End {
			after = f
		}
	}
	out := string(cur.Src)
	switch {
	case before != nil:
		at := ast.LineEnd(cur.Src, cur.Func(before.Name).Span.End)
		// past the export call of that function, when it follows it
		for _, c := range cur.Calls {
			if strings.HasPrefix(c.Name, "EXPORT_") && len(c.Args) > 0 && c.Args[0] == before.Name && c.Span.Off >= at-1 && strings.TrimSpace(out[at:c.Span.Off]) == "" {
				at = ast.LineEnd(cur.Src, c.Span.End)
			}
		}
		return []byte(out[:at] + "\n" + text + out[at:]), true
	case after != nil:
		at := ast.LineStart(cur.Src, cur.Func(after.Name).Span.Off)
		return []byte(out[:at] + text + "\n" + out[at:]), true
	}
	return nil, false
}

// defined reports whether f defines sym: a function with a body or a
// variable.
func defined(f *ast.File, sym string) bool {
	if len(f.Definitions(sym)) > 0 {
		return true
	}
	for _, v := range f.Vars {
		if v.Name == sym && !v.Extern {
			return true
		}
	}
	return false
}

// newErrors compiles file with text and says which errors the compiler
// gives that the file as the patch leaves it does not; "" when none.
func newErrors(p *rewrite.Pass, file string, text []byte) (string, error) {
	o, err := p.Oracle()
	if err != nil {
		return "", err
	}
	files := p.CurrentFiles()
	files[file] = text
	added, err := o.AddedDiagnostics(p.Context(), files, p.CurrentFiles(), []string{file}, func(d build.Diagnostic) bool { return d.Severity == "error" })
	if err != nil {
		return "", err
	}
	var why []string
	for _, d := range added[:min(len(added), 2)] {
		why = append(why, fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.Message))
	}
	return strings.Join(why, "; "), nil
}
