package rename

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// A function whose prototype changes and whose address the running
// kernel's data holds cannot simply be renamed: the data keeps calling the
// original. When that data is a function-pointer member whose signature
// the patch changes the same way, and retype makes every patched call
// through the member pass upstream's new arguments, the function keeps its
// name and its old prototype, which the header keeps too: its body is
// upstream's, and the parameters whose pointer type changes are taken
// under the old type and converted back at the top. The livepatch
// replaces the function in place, so the running kernel's tables reach
// upstream's code with the arguments the patched calls pass; its static
// data (dynamic debug descriptors, once flags) stays the function's own.
// Only pointer parameters may change type (a pointer converts to another
// pointer type unchanged), and nothing may call the function directly
// (those calls would pass the new types to the old prototype).
//
//	-int hda_ipc_msg_data(struct snd_sof_dev *sdev, struct snd_pcm_substream *substream, ...)
//	+int hda_ipc_msg_data(struct snd_sof_dev *sdev, struct snd_sof_pcm_stream *sps, ...)
//
// becomes
//
//	int hda_ipc_msg_data(struct snd_sof_dev *sdev, struct snd_pcm_substream *sps_arg, ...)
//	{
//		struct snd_sof_pcm_stream *sps = (struct snd_sof_pcm_stream *)sps_arg;
//		... upstream's body ...

// storeIn matches a store of a function in a member: ".m = fn", "->m =
// &fn"; fn is a regular expression.
func storeIn(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?:\.|->)\s*([A-Za-z_]\w*)\s*=\s*&?\s*` + name + `\b`)
}

// storedInRetyped returns the member finding whose member every reference
// to the function outside a function stores it in, when retype resolved
// it and the function's prototype changes as the member's signature does;
// otherwise why not.
func storedInRetyped(p *rewrite.Pass, e *rewrite.Entry, inData []use) (*rewrite.Entry, string) {
	name := e.Change.Func
	keeps := fmt.Sprintf("%s:%d refers to %s outside a function (its address is in data): the running kernel's data keeps pointing to the original", inData[0].file, inData[0].line, name)
	re := storeIn(regexp.QuoteMeta(name))
	var member *rewrite.Entry
	for _, u := range inData {
		m := lineMatch(p, u.file, u.line, re)
		if m == nil {
			return nil, fmt.Sprintf("%s:%d refers to %s outside a function other than as a member's value (its address is in data): the running kernel's data keeps pointing to the original", u.file, u.line, name)
		}
		x := retypedMember(p, m[1])
		if x == nil {
			return nil, keeps + fmt.Sprintf(" (in member %s, whose calls the patch does not all make with the new arguments)", m[1])
		}
		if member != nil && member != x {
			return nil, fmt.Sprintf("the running kernel's data stores %s in %s and %s", name, member.Change.Subject, x.Change.Subject)
		}
		member = x
	}
	if !change.RetypedAlike(p.ChangeOf(e.File), e.Change, member.Change) {
		return nil, keeps + fmt.Sprintf(" (%s, whose signature changes otherwise than %s's prototype, or in more than pointer parameters)", member.Change.Subject, name)
	}
	// The running kernel's own code: a file of the patch may hold the
	// function's address elsewhere before the patch (upstream stores
	// another function there now); objects made by that code keep calling
	// it with the old arguments, which the in-place body would misread.
	// (Files the patch leaves alone read the same either way.)
	for _, f := range p.CurrentSources() {
		orig := p.Original(f)
		if orig == nil {
			continue
		}
		of := ast.Parse(f, orig)
		for _, line := range hazard.AddressRefs(of, name) {
			text := lineText(of, line)
			if strings.Contains(text, "EXPORT_SYMBOL") {
				continue
			}
			if m := re.FindStringSubmatch(text); m == nil || m[1] != member.Change.Member {
				return nil, fmt.Sprintf("the running kernel's code at %s:%d (before the patch) holds %s other than in %s: what it made keeps calling %s with the old arguments; keep the prototype, or give the new version a new name", f, line, name, member.Change.Subject, name)
			}
		}
	}
	return member, ""
}

// storesInRetyped reports whether line of file stores a function in a
// function-pointer member that retype keeps with its old type, a function
// whose prototype the patch changes alike (its declaration gets the old
// prototype back, as its own finding says).
func storesInRetyped(p *rewrite.Pass, file string, line int) bool {
	m := lineMatch(p, file, line, storeIn(`[A-Za-z_]\w*`))
	if m == nil {
		return false
	}
	x := retypedMember(p, m[1])
	if x == nil {
		return false
	}
	fn := strings.TrimLeft(m[0][strings.LastIndex(m[0], "=")+1:], " \t&")
	e := p.PrototypeChange(fn)
	return e != nil && change.RetypedAlike(p.ChangeOf(e.File), e.Change, x.Change)
}

// movedForwards declares the structs (unions, enums) that upstream
// declares ahead in a header of the patch and that the header, as the
// patch stands, no longer does (header2c moved the declaration into its
// users), on one line: "struct a; struct b; ".
func movedForwards(p *rewrite.Pass) string {
	var out []string
	for f := range p.Upstream {
		if !change.IsHeader(f) {
			continue
		}
		now := map[string]bool{}
		for _, d := range p.Parse(f).Decls {
			if d.Kind == ast.Forward {
				now[d.Text] = true
			}
		}
		for _, d := range ast.Parse(f, p.Upstream[f]).Decls {
			if d.Kind == ast.Forward && !now[d.Text] && !slices.Contains(out, d.Text) {
				out = append(out, d.Text)
			}
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "; ") + "; "
}

// lineMatch matches re against a line of file.
func lineMatch(p *rewrite.Pass, file string, line int, re *regexp.Regexp) []string {
	pf := p.Parse(file)
	if line < 1 || line > pf.Lines.Count() {
		return nil
	}
	return re.FindStringSubmatch(lineText(pf, line))
}

// retypedMember is the resolved finding of a function-pointer member
// named m whose declaration the patch retypes, or nil.
func retypedMember(p *rewrite.Pass, m string) *rewrite.Entry {
	var found *rewrite.Entry
	for _, x := range p.MemberRetypes(m) {
		if x.Change.PreMember == nil || !strings.Contains(x.Change.PreMember.Type, "(*") {
			continue
		}
		if x.ResolvedBy != "retype" || found != nil {
			return nil // not settled, or two structs with such a member
		}
		found = x
	}
	return found
}

// inPlace rewrites the function in place under its old prototype, or
// says why not.
func inPlace(p *rewrite.Pass, e *rewrite.Entry, decls []*rewrite.Entry, headers map[string][]byte, member *rewrite.Entry, inData []use, callers map[string]map[string]bool) string {
	name, file := e.Change.Func, e.File
	if len(callers) > 0 {
		var in []string
		for _, f := range slices.Sorted(maps.Keys(callers)) {
			in = append(in, strings.Join(slices.Sorted(maps.Keys(callers[f])), ", ")+" ("+f+")")
		}
		return fmt.Sprintf("the running kernel's data stores %s in %s, and %s also %s it directly, with the new argument types, which the old prototype the data needs cannot take: give those callers a function of their own, or keep the prototype",
			name, member.Change.Subject, strings.Join(in, ", "), map[bool]string{true: "call", false: "calls"}[len(in) > 1])
	}
	cur, base := p.Parse(file), ast.Parse(file, p.Original(file))
	fn, orig := cur.Func(name), base.Func(name)
	pre, post, ok := change.Signatures(p.ChangeOf(file), e.Change)
	if fn == nil || orig == nil || !ok {
		return "the definition of " + name + " is not understood"
	}
	names := cur.ParamNames(fn)
	if len(names) != len(post.Params) || len(pre.Params) != len(post.Params) {
		return "the parameters of " + name + " are not understood"
	}
	used := map[string]bool{}
	for _, t := range cur.CodeTokens(fn.Span) {
		used[t.Text] = true
	}
	// the header: upstream's, with the old types of the retyped parameters
	// under names of their own
	toks := cur.CodeTokens(fn.Header)
	var eds []edit.Edit
	var decl []string
	for i, n := range names {
		if pre.Params[i] == post.Params[i] {
			continue
		}
		arg := n + "_arg"
		for k := 2; used[arg]; k++ {
			arg = fmt.Sprintf("%s_arg%d", n, k)
		}
		used[arg] = true
		span, ok := paramSpan(toks, name, i)
		if !ok {
			return "the parameters of " + name + " are not understood"
		}
		eds = append(eds, edit.Edit{File: file, Off: span.Off, End: span.End, Text: declText(pre.Params[i], arg)})
		decl = append(decl, "\t"+declText(post.Params[i], n)+" = ("+post.Params[i]+")"+arg+";")
	}
	body := fn.Body.Off + 1 // after '{'
	if nl := strings.IndexByte(string(cur.Src[body:fn.Body.End]), '\n'); nl >= 0 {
		body += nl + 1
	}
	note := gen.Comment("\t", gen.Wrap(fmt.Sprintf("%s: the running kernel's data stores %s in %s, whose patched calls pass upstream's new arguments: %s keeps its old prototype and takes them under the old types.",
		gen.Banner, name, member.Change.Subject, name), 70)...)
	text := note + strings.Join(decl, "\n") + "\n"
	if !declarationNext(cur.Src[body:fn.Body.End]) {
		text += "\n" // a blank line after declarations
	}
	eds = append(eds, edit.Edit{File: file, Off: body, End: body, Text: text})
	for _, ed := range eds {
		ed.Why, ed.Hazard = "old prototype kept", e.Hazard
		p.Edit(ed)
	}
	for _, d := range decls {
		h := p.Parse(d.File)
		for _, ed := range edit.Diff(d.File, h.Src, headers[d.File]) {
			ed.Why, ed.Hazard = "old prototype kept", d.Hazard
			p.Edit(ed)
		}
	}
	how := fmt.Sprintf("%s keeps its name and old prototype (which the header keeps) with upstream's body, taking the retyped pointer parameters under their old types: the running kernel's data stores it in %s (%s), whose patched calls pass upstream's new arguments (%s); no code calls it directly",
		name, member.Change.Subject, useList(inData), member.ResolvedBy)
	if exported(p.Original(file), name) {
		how += fmt.Sprintf("; %s is exported: no module the config builds calls it directly (the compiler looked), but a module built outside this config that does would pass the old arguments to upstream's code: check the out-of-tree modules of the kernels this livepatch targets", name)
	}
	p.Resolve(e, how)
	for _, d := range decls {
		p.Resolve(d, how)
	}
	return ""
}

// declLine matches a line that starts with a declaration: a type (one or
// more words, maybe pointers) and a name, then "=", ";", "[" or ",".
var declLine = regexp.MustCompile(`^\s*(?:(?:const|static|volatile|struct|union|enum|unsigned|signed)\s+)*[A-Za-z_]\w*(?:\s+|\s*\*+\s*)(?:\*\s*)*[A-Za-z_]\w*\s*(?:=|;|\[|,)`)

// declarationNext reports whether the first line of code in body is a
// declaration (no blank line is needed before it).
func declarationNext(body []byte) bool {
	for _, l := range strings.Split(string(body), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "/*") && !strings.HasPrefix(t, "*") && !strings.HasPrefix(t, "//") {
			w := strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == '\t' || r == '(' })
			if len(w) > 0 && (w[0] == "return" || w[0] == "if" || w[0] == "goto") {
				return false
			}
			return declLine.MatchString(l)
		}
	}
	return false
}

// paramSpan is the span of the i-th parameter declaration in the header
// tokens of the function name (its parameter list is the parenthesis
// after the name: an attribute before it has parentheses too).
func paramSpan(toks []ast.Token, name string, i int) (ast.Span, bool) {
	from := slices.IndexFunc(toks, func(t ast.Token) bool { return t.Kind == ast.Ident && t.Text == name })
	if from < 0 {
		return ast.Span{}, false
	}
	depth, n, start := 0, 0, -1
	for k := from; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.Text == "(" || t.Text == "[":
			depth++
			if depth == 1 && start < 0 {
				start = k + 1 // the parameter list (the first parenthesis)
			}
		case (t.Text == ")" || t.Text == "]") && depth == 1:
			if n == i && k > start {
				return ast.Span{Off: toks[start].Off, End: toks[k-1].End}, true
			}
			return ast.Span{}, false
		case t.Text == ")" || t.Text == "]":
			depth--
		case t.Text == "," && depth == 1:
			if n == i {
				return ast.Span{Off: toks[start].Off, End: toks[k-1].End}, true
			}
			n++
			start = k + 1
		}
	}
	return ast.Span{}, false
}

// exported reports whether src exports name (EXPORT_SYMBOL and its
// variants).
func exported(src []byte, name string) bool {
	return regexp.MustCompile(`\bEXPORT_SYMBOL\w*\(\s*` + regexp.QuoteMeta(name) + `\s*[,)]`).Match(src)
}

// declText declares name of type typ: "struct a *" and "x" give
// "struct a *x", "size_t" and "n" give "size_t n".
func declText(typ, name string) string {
	if strings.HasSuffix(typ, "*") {
		return typ + name
	}
	return typ + " " + name
}

// useList names where uses are, "file:line, file:line".
func useList(us []use) string {
	var out []string
	for _, u := range us {
		out = append(out, fmt.Sprintf("%s:%d", u.file, u.line))
	}
	return strings.Join(out, ", ")
}
