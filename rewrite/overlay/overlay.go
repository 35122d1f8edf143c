// Package overlay is the transform for a struct of which no object is ever
// made: the code only lays it over bytes it is handed (a network message,
// a firmware table), through pointer casts. Nothing in the running kernel
// holds such a struct, so a layout change cannot meet an object made with
// the old one; but the code the livepatch leaves alone is compiled from
// the header and must keep its layout. So the header keeps its original
// definition, and each patched file that uses the struct gets upstream's
// definition under a name of its own, struct NAME_lp, which it then uses.
//
// Before (upstream):	fs/smb/client/smb2pdu.h
//
//	struct smb2_error_context_rsp {
//		...
//	-	__u8  ErrorContextData; /* ErrorDataLength long array */
//	+	__u8  ErrorContextData[];
//	} __packed;
//
// After (rewritten):	the header hunk is gone; fs/smb/client/smb2file.c
//
//	defines struct smb2_error_context_rsp_lp as upstream defines
//	struct smb2_error_context_rsp, and names it wherever it named
//	struct smb2_error_context_rsp.
//
// The compiler proves both halves. No object exists: every file the config
// builds that names the struct is compiled with the struct made
// incomplete, and the only errors are sizeof and offsetof (no variable,
// allocation, member of another struct, array or copy). And the patched
// files no longer use the original: they are compiled as rewritten, with
// the original made incomplete, without one error or pointer-type
// warning. A struct whose header gives it a typedef, or that another
// transform already rewrote in part, is refused with the reason.
package overlay

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the overlay transform.
var Transform = &rewrite.Transform{
	Name: "overlay",
	Doc: "a struct of which no object is made (the code lays it over buffers) keeps its original definition in the header; " +
		"the patched files that use it get upstream's definition as struct NAME_lp",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{sites.Creation},
	Run:      run,
}

// Suffix is added to the tag of the struct the patched files use.
const Suffix = "_lp"

// target is one struct whose layout changes, with its open entries.
type target struct {
	header, tag string
	entries     []*rewrite.Entry
}

func run(p *rewrite.Pass) error {
	if !p.HasCompiler() {
		return nil
	}
	targets := map[string]*target{}
	done := map[string]bool{} // structs with an entry another transform resolved
	for _, e := range p.Entries {
		ch := e.Change
		if e.Kind != hazard.StructLayout || ch == nil || ch.Struct == "" || !change.IsHeader(e.File) {
			continue
		}
		if ch.PreStruct != nil && ch.PreStruct.Kind != "struct" || ch.PostStruct != nil && ch.PostStruct.Kind != "struct" {
			continue
		}
		k := e.File + "\x00" + ch.Struct
		if e.ResolvedBy != "" {
			done[k] = true
			continue
		}
		if targets[k] == nil {
			targets[k] = &target{header: e.File, tag: ch.Struct}
		}
		targets[k].entries = append(targets[k].entries, e)
	}
	for _, k := range slices.Sorted(maps.Keys(targets)) {
		t := targets[k]
		if done[k] {
			for _, e := range t.entries {
				p.Refuse(e, "another transform already rewrote part of struct "+t.tag+": its definition is not upstream's any more")
			}
			continue
		}
		why, err := rewriteStruct(p, t)
		if err != nil {
			if kperr.IsEnvironment(err) {
				return err
			}
			why = err.Error()
		}
		if why != "" {
			for _, e := range t.entries {
				p.Refuse(e, why)
			}
		}
	}
	return nil
}

// rewriteStruct proposes the edits for one struct and resolves its
// entries, or says why not.
func rewriteStruct(p *rewrite.Pass, t *target) (string, error) {
	fc := p.ChangeOf(t.header)
	if fc == nil || fc.Pre == nil || fc.Post == nil {
		return "the struct is not in a header the patch changes", nil
	}
	pre, post := fc.Pre.Struct(t.tag), fc.Post.Struct(t.tag)
	if pre == nil || post == nil || pre.Parent != nil || post.Parent != nil {
		return "struct " + t.tag + " is not defined at the top level of " + t.header + " both before and after the patch", nil
	}
	for _, d := range fc.Pre.Decls {
		if d.Kind == ast.Typedef && strings.Contains(d.Text, "struct "+t.tag) {
			return fmt.Sprintf("%s gives struct %s the typedef name %s, which code can use without naming the struct", t.header, t.tag, d.Name), nil
		}
	}
	res, err := sites.Find(p, t.header, t.tag)
	if err != nil {
		return "", err
	}
	var objects []string
	for _, st := range res.Sites {
		if st.Kind != sites.Size && st.Kind != sites.Zeroing {
			if st.Unfit != "" {
				objects = append(objects, fmt.Sprintf("%s (%s)", st, st.Unfit))
			} else {
				objects = append(objects, st.String())
			}
		}
	}
	if len(objects) > 0 {
		return "objects of the struct exist, made with the running kernel's layout: " + strings.Join(objects, "; "), nil
	}

	// the patched files that name the struct get their own definition
	users := []string{}
	for _, f := range p.CurrentSources() {
		if len(structRefs(p.Parse(f), t.tag)) > 0 {
			users = append(users, f)
		}
	}
	if len(users) == 0 {
		return "no patched file names struct " + t.tag + ": the layout change reaches only code the livepatch does not replace", nil
	}
	def := definition(fc.Post, post, t.header, t.tag)
	files := p.CurrentFiles()
	var eds []edit.Edit
	for _, f := range users {
		pf := p.Parse(f)
		var fe []edit.Edit
		for _, off := range structRefs(pf, t.tag) {
			fe = append(fe, edit.Insert(f, off, Suffix))
		}
		at := gen.InsertionPoint(pf)
		fe = append(fe, edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, def)), Why: "upstream's definition of struct " + t.tag})
		text, err := edit.Apply(pf.Src, fe)
		if err != nil {
			return "", err
		}
		files[f] = text
		eds = append(eds, fe...)
	}
	cur := p.Parse(t.header)
	at := cur.Struct(t.tag)
	if at == nil || cur.Text(at.Span) != fc.Post.Text(post.Span) {
		return "another transform changed struct " + t.tag + " first", nil
	}
	restore := edit.Edit{File: t.header, Off: at.Span.Off, End: at.Span.End, Text: fc.Pre.Text(pre.Span), Why: "original struct " + t.tag + " kept"}
	if end, preEnd := declEnd(cur, at), declEnd(fc.Pre, pre); end > at.Span.End && preEnd > pre.Span.End {
		// attributes after the closing brace (__packed) belong to it too
		restore.End, restore.Text = end, string(fc.Pre.Src[pre.Span.Off:preEnd])
	}
	header, err := edit.Apply(cur.Src, []edit.Edit{restore})
	if err != nil {
		return "", err
	}

	// the compiler: with the original made incomplete, the rewritten
	// files must not need it
	inc, ok := sites.Incomplete(header, t.tag)
	if !ok {
		return "kprewrite cannot find struct " + t.tag + " in " + t.header + " as rewritten", nil
	}
	files[t.header] = inc
	srcs, err := p.Compilable(users)
	if err != nil {
		return "", err
	}
	if len(srcs) < len(users) {
		return "a patched file that names the struct is not built here: " + strings.Join(users, ", "), nil
	}
	o, err := p.Oracle()
	if err != nil {
		return "", err
	}
	diags, err := o.Diagnostics(p.Context(), files, srcs)
	if err == nil {
		err = oracle.MissingInclude(diags)
	}
	if err != nil {
		return "", err
	}
	for _, d := range diags {
		if d.Severity == "error" || d.Severity == "warning" && strings.Contains(d.Message, "struct "+t.tag) {
			return fmt.Sprintf("the patched files still need the original struct %s after it is renamed in them: %s:%d: %s", t.tag, d.File, d.Line, d.Message), nil
		}
	}

	for _, e := range eds {
		e.Why = "struct " + t.tag + " used as " + t.tag + Suffix
		p.Edit(e)
	}
	restore.Hazard = t.entries[0].Hazard
	p.Edit(restore)
	method := res.Method
	how := fmt.Sprintf("no object of struct %s exists (%s: no variable, allocation, member or array of it, only sizeof and offsetof), so the code lays it over bytes it is handed; %s keeps the running kernel's definition, and %s %s upstream's as struct %s%s (the compiler checked that %s no longer %s the original)",
		t.tag, method, t.header, strings.Join(users, ", "), verb(len(users), "uses", "use"), t.tag, Suffix, verb(len(users), "it", "they"), verb(len(users), "needs", "need"))
	for _, e := range t.entries {
		p.Resolve(e, how)
	}
	return "", nil
}

// structRefs returns the offsets just after each "struct tag" in the code
// of f (not in comments, strings or directives), where the suffix goes.
func structRefs(f *ast.File, tag string) []int {
	var out []int
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i := 1; i < len(toks); i++ {
		if toks[i].Kind == ast.Ident && toks[i].Text == tag && toks[i-1].Text == "struct" {
			out = append(out, toks[i].End)
		}
	}
	return out
}

// declEnd returns the offset after the ';' that ends the declaration the
// struct definition s is part of, or s.Span.End when no ';' follows its
// closing brace directly (after attributes only).
func declEnd(f *ast.File, s *ast.Struct) int {
	toks := f.CodeTokens(ast.Span{Off: s.Span.End, End: len(f.Src)})
	depth := 0
	for _, t := range toks {
		switch t.Text {
		case "(":
			depth++
		case ")":
			depth--
		case ";":
			if depth == 0 {
				return t.End
			}
		case "{", "}", "=", ",":
			if depth == 0 {
				return s.Span.End
			}
		}
		if depth == 0 && t.Kind == ast.Ident && !strings.HasPrefix(t.Text, "__") {
			return s.Span.End // a declarator: "} name;" is no attribute
		}
	}
	return s.Span.End
}

// definition renders upstream's definition of the struct under its new
// name, with a comment that says why.
func definition(post *ast.File, s *ast.Struct, header, tag string) string {
	text := string(post.Src[s.Span.Off:declEnd(post, s)])
	if !strings.HasSuffix(text, ";") {
		text += ";"
	}
	text = strings.Replace(text, "struct "+tag, "struct "+tag+Suffix, 1)
	var b strings.Builder
	b.WriteString(gen.Comment("", gen.Wrap(fmt.Sprintf("%s: struct %s as upstream defines it (%s). %s No object of it exists: the code lays it over bytes it is handed, so the running kernel keeps its definition and the patched code uses this one.",
		gen.Banner, tag, header, gen.Generated), 75)...))
	b.WriteString(text + "\n")
	return b.String()
}

// verb picks the singular or the plural form for n things.
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
