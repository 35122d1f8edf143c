// Package structext is the transform for new members of a struct whose
// objects only live briefly and are handed on as a pointer to their first
// member (the notifier info structs of include/linux/netdevice.h are the
// model). The struct stays as it is; the patched code uses a private
// extension that starts with it:
//
//	struct netdev_notifier_changeupper_info_ext {
//		union {
//			struct netdev_notifier_changeupper_info base;
//			struct { <the members of the struct, copied> };
//		};
//		void *upper_info;
//	};
//
// Every place where an object of the struct comes into existence is found
// with the compiler (the struct is made incomplete in an overlay header and
// every file the config builds that names it is compiled); each must be a
// stack or heap object in a function the livepatch can replace, not
// embedded, not in an array, not copied by value, and not handed to another
// task. Then each creation site is converted to the extension (the
// functions that hold them join the patch), readers reach the new member
// with container_of, and no patched reader can ever see a plain struct.
// Otherwise the member is refused with the reason, for the hole or shadow
// transforms to take.
package structext

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the prefix-extension transform.
var Transform = &rewrite.Transform{
	Name:     "structext",
	Doc:      "new members of a struct whose objects are short-lived and reached through a pointer to their first member move into a private prefix-compatible extension",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{sites.Creation},
	Member: &rewrite.MemberStrategy{
		Use:   "struct extension",
		Takes: func(ch *change.Change) bool { return !ch.PostMember.IsBitfield() },
		Keeps: func(m, where string) string {
			return fmt.Sprintf("%s (%s): nothing to carry over, its objects live on the stack of the task that creates them, which switches livepatch only when no patched function is on its stack", m, where)
		},
	},
	Run: run,
}

type plan struct {
	key, tag  string
	header    string
	members   []*member.Member
	sites     []*sites.Site
	method    string
	baseName  string // name of the union member that is the original struct
	extName   string
	scanned   int
	files     []string // files that get the extension definition
	converted []string // functions that now create the extension
}

func run(p *rewrite.Pass) error {
	cands := member.Candidates(p)
	if len(cands) == 0 {
		return nil
	}
	byStruct := map[string]*plan{}
	var order []string
	for _, m := range cands {
		pl, ok := byStruct[m.Key]
		if !ok {
			pl = &plan{key: m.Key, tag: member.TagOf(m.Key), header: m.Header}
			byStruct[m.Key] = pl
			order = append(order, m.Key)
		}
		pl.members = append(pl.members, m)
	}
	for _, k := range order {
		pl := byStruct[k]
		if why := analyze(p, pl); why != "" {
			for _, m := range pl.members {
				p.Refuse(m.Entry, why)
			}
			continue
		}
		apply(p, pl)
	}
	return nil
}

// analyze finds the creation sites and decides whether the extension is
// safe; it returns why not.
func analyze(p *rewrite.Pass, pl *plan) string {
	res, err := sites.Find(p, pl.header, pl.tag)
	if err != nil {
		return err.Error()
	}
	pl.sites, pl.method, pl.scanned = res.Sites, res.Method, res.Scanned
	var bad []string
	creates := false
	for _, st := range pl.sites {
		why := st.Unfit
		if why == "" && st.Escape != "" {
			why = st.Escape
		}
		if why != "" {
			bad = append(bad, fmt.Sprintf("%s (%s)", st, why))
		}
		if st.Kind == sites.Stack || st.Kind == sites.Heap {
			creates = true
		}
	}
	if len(bad) > 0 {
		return "unsafe creation sites: " + strings.Join(bad, "; ")
	}
	if !creates {
		return "the compiler found no place that creates the struct in files the config builds"
	}
	return ""
}

// edits of one file, in current-text offsets.
type fileEdits []edit.Edit

// toCurrent maps an offset of the edited text back to the current text.
func (es fileEdits) toCurrent(off int) int {
	sorted := append(fileEdits(nil), es...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Off < sorted[j].Off })
	shift := 0
	for _, e := range sorted {
		newStart := e.Off + shift
		if off < newStart {
			break
		}
		delta := len(e.Text) - (e.End - e.Off)
		if off < newStart+len(e.Text) {
			return e.Off // inside an inserted text
		}
		shift += delta
	}
	return off - shift
}

func apply(p *rewrite.Pass, pl *plan) {
	pre := ast.Parse(pl.header, p.Original(pl.header))
	s := pre.Struct(pl.tag)
	pl.baseName = "base"
	for _, m := range s.Members {
		if m.Name == "base" {
			pl.baseName = "base_"
		}
	}
	pl.extName = p.UniqueName(pl.tag + "_ext")
	conv := map[string]fileEdits{}
	var why []string
	var creators []string
	for _, st := range pl.sites {
		f := p.Parse(st.File)
		var es []edit.Edit
		var err error
		switch st.Kind {
		case sites.Stack:
			es, err = convertDecl(f, st, pl)
		case sites.Heap:
			es, err = convertSizeof(f, st, pl)
		case sites.Zeroing:
			// memset(p, 0, sizeof(*p)) must clear the extension too: every
			// object is one, and sizeof(*p) is the running kernel's struct
			es, err = convertSizeof(f, st, pl)
		default:
			continue
		}
		if err != nil {
			why = append(why, fmt.Sprintf("%s:%d: %v", st.File, st.Line, err))
			continue
		}
		conv[st.File] = append(conv[st.File], es...)
		creators = append(creators, fmt.Sprintf("%s:%s (%s)", st.File, st.Fn, st.Kind))
	}
	if len(why) > 0 {
		refuse(p, pl, "cannot convert a creation site: "+strings.Join(why, "; "))
		return
	}
	def := extension(p, pl, s, pre)
	// The files that create it get the extension; find the readers with the
	// compiler on the converted text, member taken out of the header.
	for f := range conv {
		pf := p.Parse(f)
		at := gen.InsertionPoint(pf)
		conv[f] = append(conv[f], edit.Insert(f, at, gen.Styled(f, gen.InsertText(pf.Src, at, def))))
	}
	o, err := p.Oracle()
	if err != nil {
		refuse(p, pl, err.Error())
		return
	}
	files := p.CurrentFiles()
	for f, es := range conv {
		if files[f], err = edit.Apply(p.File(f), es); err != nil {
			refuse(p, pl, "converting the creation sites: "+err.Error())
			return
		}
	}
	hdr := p.File(pl.header)
	for _, m := range pl.members {
		hdr = member.RevertMember(p, m, hdr)
	}
	files[pl.header] = hdr
	res, err := o.MemberUses(p.Context(), files, p.CurrentSources())
	if err != nil {
		refuse(p, pl, err.Error())
		return
	}
	for _, d := range res.Other {
		if _, converted := conv[d.File]; converted && d.Severity == "error" {
			refuse(p, pl, fmt.Sprintf("creating struct %s instead does not compile: %s", pl.extName, d))
			return
		}
	}
	access := map[string][]*cexpr.Access{}
	for _, m := range pl.members {
		for _, u := range res.Of(pl.key, m.Name) {
			if change.IsHeader(u.File) {
				refuse(p, pl, fmt.Sprintf("%s is used in a header (%s:%d): header2c must move that code first", m.Name, u.File, u.Line))
				return
			}
			f := p.Parse(u.File)
			conved := ast.NewLines(files[u.File])
			off := conv[u.File].toCurrent(conved.Start(u.Line) + u.Col - 1)
			a, err := cexpr.Find(f, off)
			if err != nil {
				refuse(p, pl, err.Error())
				return
			}
			if a.Kind == cexpr.AddrOf && a.Arrow {
				// &info->m or info->m.x: still reachable through the extension
				a.Kind = cexpr.Read
			}
			access[u.File] = append(access[u.File], a)
		}
	}
	ext := "struct " + pl.extName
	rw := func(file string) *cexpr.Rewriter {
		return &cexpr.Rewriter{Src: p.File(file),
			Get: func(a *cexpr.Access, obj string) string {
				return fmt.Sprintf("to_%s(%s)->%s", pl.extName, cexpr.AddressOf(obj, a.Arrow), a.Name)
			},
			Set: func(a *cexpr.Access, obj, val string) string {
				return fmt.Sprintf("to_%s(%s)->%s = %s", pl.extName, cexpr.AddressOf(obj, a.Arrow), a.Name, strings.TrimSpace(val))
			},
		}
	}
	readerEdits := map[string][]edit.Edit{}
	for f, accs := range access {
		// reads of a member's storage (&x->m, x->m.y) keep their shape
		var plain, storage []*cexpr.Access
		for _, a := range accs {
			if a.Kind == cexpr.AddrOf || a.Kind == cexpr.SizeOf {
				storage = append(storage, a)
			} else {
				plain = append(plain, a)
			}
		}
		if len(storage) > 0 {
			refuse(p, pl, fmt.Sprintf("%s:%d: the new member's address or size is taken through a plain struct pointer", f, storage[0].Line))
			return
		}
		es, errs := rw(f).Rewrite(plain)
		if errs != nil {
			refuse(p, pl, fmt.Sprintf("%s: %v", f, errs[0]))
			return
		}
		readerEdits[f] = es
	}
	// Apply: conversions, extension definitions, reader rewrites.
	need := map[string]bool{}
	for f := range conv {
		need[f] = true
	}
	for f := range readerEdits {
		need[f] = true
	}
	var fileList []string
	for f := range need {
		fileList = append(fileList, f)
	}
	sort.Strings(fileList)
	for _, f := range fileList {
		es := conv[f]
		if len(es) == 0 {
			pf := p.Parse(f)
			at := gen.InsertionPoint(pf)
			es = append(es, edit.Insert(f, at, gen.Styled(f, gen.InsertText(pf.Src, at, def))))
		}
		for _, e := range es {
			e.File, e.Why, e.Hazard = f, "struct extension", pl.hazard()
			p.Edit(e)
		}
		for _, e := range readerEdits[f] {
			e.File, e.Why, e.Hazard = f, "new member through the extension", pl.hazard()
			p.Edit(e)
		}
	}
	cur := p.File(pl.header)
	out := cur
	for _, m := range pl.members {
		out = member.RevertMember(p, m, out)
	}
	for _, e := range edit.Diff(pl.header, cur, out) {
		e.Why, e.Hazard = "member moved to the extension", pl.hazard()
		p.Edit(e)
	}
	pl.files = fileList
	var added []string
	for _, st := range pl.sites {
		if st.Kind != sites.Stack && st.Kind != sites.Heap {
			continue
		}
		if !changedUpstream(p, st.File, st.Fn) {
			added = append(added, fmt.Sprintf("%s:%s (%s)", st.File, st.Fn, st.Kind))
		}
	}
	for _, m := range pl.members {
		p.Resolve(m.Entry, fmt.Sprintf("kept in %s, which starts with struct %s; created instead of it at %s; %d files reach it",
			ext, pl.tag, strings.Join(creators, ", "), len(fileList)))
		m.Entry.Placement = "extension: " + ext
	}
	reason := fmt.Sprintf("creation sites found by %s: %s. They are objects on the stack (or freed in the same function) that are handed down synchronously, so the creator and every reader run in the same task, and during the livepatch transition a task runs either all old or all new functions: a patched reader never sees a plain struct %s. Objects created by modules outside this tree are not covered.",
		pl.method, strings.Join(creators, ", "), pl.tag)
	if len(added) > 0 {
		reason += " Functions added to the patch because they create it: " + strings.Join(added, ", ") + "."
	}
	p.Note(rewrite.Finding{File: pl.header, Line: pl.members[0].Entry.Line, Subject: pl.key + " -> " + ext, Reason: reason})
}

// changedUpstream reports whether the upstream patch changes function fn of file.
func changedUpstream(p *rewrite.Pass, file, fn string) bool {
	fc := p.ChangeOf(file)
	if fc == nil {
		return false
	}
	for _, ch := range fc.Changes {
		if ch.Func == fn && (ch.Kind == change.FuncChanged || ch.Kind == change.FuncAdded) {
			return true
		}
	}
	return false
}

// hazard returns the hazard the plan's edits resolve: the one new member,
// or nil when several share the extension.
func (pl *plan) hazard() *hazard.Hazard {
	if len(pl.members) != 1 {
		return nil
	}
	return pl.members[0].Entry.Hazard
}

func refuse(p *rewrite.Pass, pl *plan, why string) {
	for _, m := range pl.members {
		p.Refuse(m.Entry, why)
	}
}

// extension renders the definition of the extension and its guards.
func extension(p *rewrite.Pass, pl *plan, s *ast.Struct, pre *ast.File) string {
	var names []string
	for _, m := range pl.members {
		names = append(names, m.Name)
	}
	var b strings.Builder
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s in an extension.", gen.Banner, pl.key, strings.Join(names, ", "))},
		gen.Wrap(fmt.Sprintf(gen.Generated+" The running kernel's %s has no %s and keeps its layout. The livepatch creates struct %s, which starts with it, wherever the kernel creates one; readers get back to it with to_%s().",
			pl.key, strings.Join(names, ", "), pl.extName, pl.extName), 76)...)...))
	fmt.Fprintf(&b, "struct %s {\n\tunion {\n\t\tstruct %s %s;\n\t\tstruct {\n", pl.extName, pl.tag, pl.baseName)
	body := strings.Trim(pre.Text(s.Body), "\n")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") || strings.TrimSpace(l) == "" {
			b.WriteString(strings.TrimSpace(l) + "\n")
			continue
		}
		b.WriteString("\t\t" + l + "\n")
	}
	b.WriteString("\t\t};\n\t};\n")
	for _, m := range pl.members {
		post := p.Parse(pl.header)
		text := ""
		if ps := post.Struct(pl.tag); ps != nil {
			for _, pm := range ps.Members {
				if pm.Name == m.Name {
					text = strings.TrimSpace(post.Text(pm.Decl))
					if pm.Comment != "" {
						text += " " + pm.Comment
					}
				}
			}
		}
		if text == "" {
			text = change.MemberText(m.Change.PostMember) + ";"
		}
		b.WriteString("\t" + text + "\n")
	}
	b.WriteString("};\n\n")
	fmt.Fprintf(&b, "static_assert(offsetof(struct %s, %s) == 0);\n", pl.extName, pl.baseName)
	var asserted []string
	for _, m := range s.Members {
		if m.Name != "" && m.Bits == "" && m.Cond == nil {
			asserted = append(asserted, m.Name)
		}
	}
	if len(asserted) > 8 {
		asserted = []string{asserted[0], asserted[len(asserted)-1]}
	}
	for _, n := range asserted {
		b.WriteString(gen.StaticAssert(fmt.Sprintf("offsetof(struct %s, %s) == offsetof(struct %s, %s)", pl.extName, n, pl.tag, n)))
	}
	for _, m := range pl.members {
		b.WriteString(gen.StaticAssert(fmt.Sprintf("offsetof(struct %s, %s) >= sizeof(struct %s)", pl.extName, m.Name, pl.tag)))
	}
	fmt.Fprintf(&b, "\nstatic inline struct %s *\nto_%s(const struct %s *p)\n{\n\treturn container_of(p, struct %s, %s);\n}\n",
		pl.extName, pl.extName, pl.tag, pl.extName, pl.baseName)
	return b.String()
}

// convertDecl turns "struct TAG name ..." into "struct TAG_ext name ...".
func convertDecl(f *ast.File, st *sites.Site, pl *plan) ([]edit.Edit, error) {
	toks := sites.CodeTokens(f)
	at := sites.Locate(f, st)
	if at < 0 {
		return nil, fmt.Errorf("kprewrite cannot find the declaration of %s again in the current text", st.Name)
	}
	i := sites.TokenAt(toks, at)
	// the declaration statement holding the variable
	start := i
	for start > 0 && toks[start-1].Text != ";" && toks[start-1].Text != "{" && toks[start-1].Text != "}" {
		start--
	}
	depth := 0
	for k := start; k < len(toks) && toks[k].Text != ";"; k++ {
		switch toks[k].Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ",":
			if depth == 0 {
				return nil, fmt.Errorf("%s is declared together with other variables", st.Name)
			}
		case "=":
			if depth == 0 {
				k = len(toks) // stop: the rest is the initializer
			}
		}
		if k >= len(toks) {
			break
		}
	}
	for k := start; k < i && k+1 < len(toks); k++ {
		if toks[k].Text == "struct" && toks[k+1].Text == pl.tag {
			t := toks[k+1]
			es := []edit.Edit{{Off: t.Off, End: t.End, Text: pl.extName}}
			// the kernel's functions take a struct tag *: hand them the
			// base ("&info" -> "&info.base"); readers get back to the
			// extension with to_ext()
			if fn := f.FuncAt(at); fn != nil {
				for j := i + 1; j+1 < len(toks) && toks[j].Off < fn.Body.End; j++ {
					if toks[j].Text == "&" && toks[j+1].Text == st.Name && (j+2 >= len(toks) || toks[j+2].Text != "." && toks[j+2].Text != "[" && toks[j+2].Text != "->") {
						es = append(es, edit.Edit{Off: toks[j+1].End, End: toks[j+1].End, Text: "." + pl.baseName})
					}
				}
			}
			return es, nil
		}
	}
	return nil, fmt.Errorf("%s is not declared as struct %s (a typedef?)", st.Name, pl.tag)
}

// convertSizeof makes an allocation's size that of the extension.
func convertSizeof(f *ast.File, st *sites.Site, pl *plan) ([]edit.Edit, error) {
	toks := sites.CodeTokens(f)
	at := sites.Locate(f, st)
	if at < 0 {
		return nil, fmt.Errorf("kprewrite cannot find the allocation at %s:%d again in the current text", st.File, st.Line)
	}
	i := sites.TokenAt(toks, at)
	// the sizeof the compiler points into, or else the one of the
	// statement (memset(info, 0, sizeof(struct x)) is pointed at by its
	// call)
	cands := []int{}
	for k := i; k >= 0 && k > i-6; k-- {
		cands = append(cands, k)
	}
	if start, end := sites.StatementBounds(toks, i); start >= 0 {
		for k := start; k < end && k < len(toks); k++ {
			cands = append(cands, k)
		}
	}
	for _, k := range cands {
		if toks[k].Text == "sizeof" && k+1 < len(toks) && toks[k+1].Text == "(" {
			depth := 0
			for e := k + 1; e < len(toks); e++ {
				if toks[e].Text == "(" {
					depth++
				} else if toks[e].Text == ")" {
					depth--
					if depth == 0 {
						return []edit.Edit{{Off: toks[k+1].End, End: toks[e].Off, Text: "struct " + pl.extName}}, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("cannot find the sizeof of the allocation")
}
