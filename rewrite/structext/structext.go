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
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
)

// Transform is the prefix-extension transform.
var Transform = &rewrite.Transform{
	Name: "structext",
	Doc:  "new members of a struct whose objects are short-lived and reached through a pointer to their first member move into a private prefix-compatible extension",
	Run:  run,
}

// MaxCandidates bounds the files compiled to find creation sites: a struct
// named by more files than this is too widely used for this transform.
const MaxCandidates = 120

// site is a place where an object of the struct comes into existence.
type site struct {
	file string
	line int
	kind string // "stack", "heap", "global", "embedded", "array", "copy", "size"
	name string // variable name, for stack objects
	fn   string // enclosing function
	why  string // why it is unsafe ("" when safe)
	off  int    // byte offset of the diagnostic
}

type plan struct {
	key, tag  string
	header    string
	members   []*member.Member
	sites     []*site
	method    string
	baseName  string // name of the union member that is the original struct
	extName   string
	scanned   int
	files     []string // files that get the extension definition
	converted []string // functions that now create the extension
}

func run(p *rewrite.Pass) error {
	if s := p.Options.Strategy; s != "" && s != "structext" {
		return nil
	}
	cands := member.Candidates(p, func(ch *change.Change) bool { return !ch.PostMember.IsBitfield() })
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
				p.Refuse(m.Entry, "structext: "+why, rewrite.ManualOrFallback(p, "hole or a shadow variable"))
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
	if !p.HasCompiler() {
		return "finding every place the struct is created needs the compiler: give --config"
	}
	if pl.header == "" || !change.IsHeader(pl.header) {
		return "the struct is not defined in a header"
	}
	pre := ast.Parse(pl.header, p.Original(pl.header))
	s := pre.Struct(pl.tag)
	if s == nil || s.Kind != "struct" {
		return "only structs defined before the patch are extended"
	}
	names := map[string]bool{pl.tag: true}
	for _, d := range pre.Decls {
		if d.Kind == ast.Typedef && strings.Contains(d.Text, "struct "+pl.tag) {
			names[d.Name] = true
		}
	}
	// Candidates: files the config builds that include the header and name it.
	users, how, err := p.Env.Includers(pl.header)
	if err != nil {
		return err.Error()
	}
	var cands []string
	for _, u := range users {
		if o := p.Env.ObjectOf(u); o.Kind == kbuild.NotBuilt || o.Kind == kbuild.UnknownObject {
			continue
		}
		if namesAny(p.File(u), names) {
			cands = append(cands, u)
		}
	}
	for _, f := range p.CurrentSources() {
		if !contains(cands, f) && namesAny(p.File(f), names) {
			cands = append(cands, f)
		}
	}
	sort.Strings(cands)
	pl.scanned = len(cands)
	pl.method = fmt.Sprintf("the compiler, with struct %s made incomplete, over the %d files the config builds that include %s and name it (%s)", pl.tag, len(cands), pl.header, how)
	if len(cands) > MaxCandidates {
		return fmt.Sprintf("%d files the config builds can create or use struct %s (more than %d): too widely used to convert every creation site", len(cands), pl.tag, MaxCandidates)
	}
	// Textual vetoes first: cheap and clear.
	if why := textualVeto(p, cands, pl.tag); why != "" {
		return why
	}
	o, err := p.Oracle()
	if err != nil {
		return err.Error()
	}
	files := p.CurrentFiles()
	files[pl.header] = incomplete(p.File(pl.header), pl.tag)
	diags, err := o.Diagnostics(context.Background(), files, cands)
	if err != nil {
		return err.Error()
	}
	pl.sites = classify(p, pl, diags)
	var bad []string
	for _, st := range pl.sites {
		if st.why != "" {
			bad = append(bad, fmt.Sprintf("%s:%d %s (%s)", st.file, st.line, st.kind, st.why))
		}
	}
	if len(bad) > 0 {
		return "unsafe creation sites: " + strings.Join(bad, "; ")
	}
	hasCreation := false
	for _, st := range pl.sites {
		if st.kind == "stack" || st.kind == "heap" {
			hasCreation = true
		}
	}
	if !hasCreation {
		return "the compiler found no place that creates the struct in files the config builds"
	}
	return ""
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func namesAny(src []byte, names map[string]bool) bool {
	for _, t := range ast.Tokenize(src) {
		if t.Kind == ast.Ident && names[t.Text] {
			return true
		}
		if t.Kind == ast.Directive {
			for _, x := range ast.Tokenize([]byte(t.Text[1:])) {
				if x.Kind == ast.Ident && names[x.Text] {
					return true
				}
			}
		}
	}
	return false
}

// textualVeto spots creation patterns that rule the transform out without
// compiling: objects from a kmem_cache sized by the struct.
func textualVeto(p *rewrite.Pass, files []string, tag string) string {
	re := regexp.MustCompile(`kmem_cache_create(_usercopy)?\s*\([^;]*sizeof\s*\(\s*struct\s+` + regexp.QuoteMeta(tag) + `\s*\)`)
	for _, f := range files {
		if loc := re.FindIndex(p.File(f)); loc != nil {
			return fmt.Sprintf("%s:%d allocates struct %s from a kmem_cache sized by it: objects are long-lived and their size is fixed", f, ast.NewLines(p.File(f)).Line(loc[0]), tag)
		}
	}
	return ""
}

// incomplete returns the header with struct tag's definition turned into a
// declaration, so every use that needs its layout is a compiler error.
func incomplete(src []byte, tag string) []byte {
	f := ast.Parse("h", src)
	s := f.Struct(tag)
	if s == nil {
		return src
	}
	end := s.Span.End
	return []byte(string(src[:s.Span.Off]) + "struct " + tag + string(src[end:]))
}

var (
	storageRE  = regexp.MustCompile(`^storage size of '(\w+)' isn't known`)
	sizeofRE   = regexp.MustCompile(`^invalid application of '(sizeof|__alignof__|_Alignof)' to incomplete type`)
	fieldRE    = regexp.MustCompile(`^field '(\w+)' has incomplete type`)
	arrayRE    = regexp.MustCompile(`^array type has incomplete element type`)
	undefRE    = regexp.MustCompile(`^invalid use of undefined type`)
	derefRE    = regexp.MustCompile(`^dereferencing pointer to incomplete type`)
	paramRE    = regexp.MustCompile(`^parameter \d+ \('?(\w*)'?\) has incomplete type|^return type is an incomplete type|has incomplete type$`)
	expandRE   = regexp.MustCompile(`^in expansion of macro '(\w+)'`)
	allocRE    = regexp.MustCompile(`^(kmalloc|kzalloc|kcalloc|kmalloc_array|kvmalloc|kvzalloc|kvcalloc|kmalloc_node|kzalloc_node|devm_kzalloc|devm_kmalloc|vmalloc|vzalloc)$`)
	escapeRE   = regexp.MustCompile(`^(queue_work|queue_delayed_work|schedule_work|schedule_delayed_work|mod_delayed_work|call_rcu|kfree_rcu|kthread_run|kthread_create|list_add|list_add_tail|list_add_rcu|list_add_tail_rcu|hlist_add_head|hlist_add_head_rcu|rcu_assign_pointer|xa_store|idr_alloc|radix_tree_insert|rb_link_node|WRITE_ONCE|smp_store_release|tasklet_init|timer_setup|add_timer|mod_timer|init_completion|wait_for_completion)$`)
	readerMacs = map[string]bool{"container_of": true, "container_of_const": true, "list_entry": true, "list_first_entry": true, "hlist_entry": true, "offsetof": true}
)

// classify turns the compiler's messages into creation sites.
func classify(p *rewrite.Pass, pl *plan, diags []build.Diagnostic) []*site {
	var out []*site
	seen := map[string]bool{}
	for i, d := range diags {
		if d.Severity != "error" {
			continue
		}
		// the outermost expansion site in a .c file, for errors in macros
		file, line, col := d.File, d.Line, d.Col
		var macros []string
		for j := i + 1; j < len(diags) && diags[j].Severity == "note"; j++ {
			if m := expandRE.FindStringSubmatch(diags[j].Message); m != nil {
				macros = append(macros, m[1])
				file, line, col = diags[j].File, diags[j].Line, diags[j].Col
			}
		}
		if !strings.HasSuffix(file, ".c") && !strings.HasSuffix(file, ".h") {
			continue
		}
		f := p.Parse(file)
		off := f.Lines.Start(line) + col - 1
		st := &site{file: file, line: line, off: off}
		if fn := f.FuncAt(off); fn != nil {
			st.fn = fn.Name
		}
		msg := d.Message
		switch {
		case storageRE.MatchString(msg):
			st.name = storageRE.FindStringSubmatch(msg)[1]
			if st.fn == "" {
				st.kind, st.why = "global", "a global object exists before the livepatch loads and cannot become the extension"
			} else {
				st.kind = "stack"
				st.why = stackEscape(f, st)
			}
		case sizeofRE.MatchString(msg):
			st.kind = "size"
			if call := enclosingCall(f, off); allocRE.MatchString(call) {
				st.kind = "heap"
				st.why = heapEscape(f, st)
			} else if st.fn == "" {
				st.why = "sizeof outside a function"
			} else {
				st.why = "sizeof(struct " + pl.tag + ") used for something other than an allocation (" + call + ")"
			}
		case fieldRE.MatchString(msg):
			st.kind, st.why = "embedded", "embedded in another struct ("+fieldRE.FindStringSubmatch(msg)[1]+")"
		case arrayRE.MatchString(msg):
			st.kind, st.why = "array", "an array of the struct"
		case undefRE.MatchString(msg) || derefRE.MatchString(msg):
			if isMemberAccess(f, off) || anyReader(macros) {
				continue // a use of a member: fine
			}
			st.kind, st.why = "copy", "the struct is used as a value (copied, compared or built as a compound literal)"
		case paramRE.MatchString(msg):
			st.kind, st.why = "copy", "passed or returned by value"
		default:
			continue // errors that follow from others
		}
		if st.fn != "" && st.why == "" {
			if fn := f.FuncAt(off); fn != nil && (fn.Has("__init") || fn.Has("__exit") || fn.Has("notrace") || fn.IsInline() && change.IsHeader(file)) {
				st.why = "in " + fn.Name + ", which a livepatch cannot replace (init/exit, notrace or a header inline)"
			}
		}
		key := fmt.Sprintf("%s:%d:%s:%s", st.file, st.line, st.kind, st.name)
		if !seen[key] {
			seen[key] = true
			out = append(out, st)
		}
	}
	return out
}

func anyReader(ms []string) bool {
	for _, m := range ms {
		if readerMacs[m] {
			return true
		}
	}
	return false
}

// codeTokens returns the file's tokens without comments and directives.
func codeTokens(f *ast.File) []ast.Token { return f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)}) }

func tokenAt(toks []ast.Token, off int) int {
	return sort.Search(len(toks), func(i int) bool { return toks[i].End > off })
}

// isMemberAccess reports whether the error at off is on a '->' or '.'.
func isMemberAccess(f *ast.File, off int) bool {
	toks := codeTokens(f)
	i := tokenAt(toks, off)
	if i >= len(toks) {
		return false
	}
	if t := toks[i].Text; t == "->" || t == "." {
		return true
	}
	return i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".") && toks[i].Kind == ast.Ident
}

// enclosingCall returns the function called around off ("kzalloc" for
// kzalloc(sizeof(*p), GFP_KERNEL)).
func enclosingCall(f *ast.File, off int) string {
	toks := codeTokens(f)
	i := tokenAt(toks, off)
	depth := 0
	for k := i; k >= 0 && k > i-40; k-- {
		switch toks[k].Text {
		case ")":
			depth++
		case "(":
			if depth == 0 {
				if k > 0 && toks[k-1].Kind == ast.Ident && toks[k-1].Text != "sizeof" {
					return toks[k-1].Text
				}
			} else {
				depth--
			}
		case ";", "{", "}":
			return ""
		}
	}
	return ""
}

// stackEscape says why a stack object may reach another task, or "".
func stackEscape(f *ast.File, st *site) string {
	fn := f.FuncAt(st.off)
	if fn == nil {
		return ""
	}
	toks := f.CodeTokens(fn.Body)
	for i, t := range toks {
		if t.Text != st.name || t.Kind != ast.Ident {
			continue
		}
		// &name or &name.member handed to an asynchronous API, or stored
		if i > 0 && toks[i-1].Text == "&" {
			if call := callAround(toks, i); escapeRE.MatchString(call) {
				return fmt.Sprintf("its address goes to %s(), so another task may see it", call)
			}
			if stored(toks, i-1) {
				return "its address is stored beyond the function"
			}
		}
	}
	return ""
}

// heapEscape says why a heap object may outlive its creating function.
func heapEscape(f *ast.File, st *site) string {
	fn := f.FuncAt(st.off)
	if fn == nil {
		return "allocated outside a function"
	}
	toks := f.CodeTokens(fn.Body)
	// the variable the allocation is assigned to: "p = kzalloc(...)"
	i := tokenAt(toks, st.off)
	name := ""
	for k := i; k >= 1; k-- {
		if toks[k].Text == "=" && toks[k-1].Kind == ast.Ident {
			name = toks[k-1].Text
			break
		}
		if toks[k].Text == ";" || toks[k].Text == "{" {
			break
		}
	}
	if name == "" {
		return "the allocation is not assigned to a local variable"
	}
	freed := false
	for k, t := range toks {
		if t.Text != name || t.Kind != ast.Ident {
			continue
		}
		if call := callAround(toks, k); call == "kfree" || call == "kvfree" {
			freed = true
		} else if escapeRE.MatchString(call) {
			return fmt.Sprintf("the object goes to %s(), so another task may see it", call)
		}
		if k > 0 && toks[k-1].Text == "return" {
			return "the object is returned to the caller and may be kept"
		}
		if stored(toks, k) {
			return "the object is stored beyond the function"
		}
	}
	if !freed {
		return "the object is not freed in the function that creates it: it may be kept"
	}
	return ""
}

// callAround returns the function whose argument list holds toks[i].
func callAround(toks []ast.Token, i int) string {
	depth := 0
	for k := i; k >= 0; k-- {
		switch toks[k].Text {
		case ")":
			depth++
		case "(":
			if depth == 0 {
				if k > 0 && toks[k-1].Kind == ast.Ident {
					return toks[k-1].Text
				}
				return ""
			}
			depth--
		case ";", "{", "}":
			return ""
		}
	}
	return ""
}

// stored reports whether the expression starting at toks[i] is the value
// of an assignment to something other than a plain local ("x->y = &v").
func stored(toks []ast.Token, i int) bool {
	if i < 2 || toks[i-1].Text != "=" {
		return false
	}
	// walk back over the left-hand side
	for k := i - 2; k >= 0; k-- {
		switch toks[k].Text {
		case "->", ".", "[", "]":
			return true
		case ";", "{", "}", ",", "(":
			return false
		}
	}
	return false
}

// edits of one file, in current-text offsets.
type fileEdits []gen.TextEdit

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
	pl.extName = member.UniqueName(p, pl.tag+"_ext")
	conv := map[string]fileEdits{}
	var why []string
	var creators []string
	for _, st := range pl.sites {
		f := p.Parse(st.file)
		var es []gen.TextEdit
		var err error
		switch st.kind {
		case "stack":
			es, err = convertDecl(f, st, pl)
		case "heap":
			es, err = convertSizeof(f, st, pl)
		default:
			continue
		}
		if err != nil {
			why = append(why, fmt.Sprintf("%s:%d: %v", st.file, st.line, err))
			continue
		}
		conv[st.file] = append(conv[st.file], es...)
		creators = append(creators, fmt.Sprintf("%s:%s (%s)", st.file, st.fn, st.kind))
	}
	if len(why) > 0 {
		refuse(p, pl, "cannot convert a creation site: "+strings.Join(why, "; "))
		return
	}
	def := extension(p, pl, s, pre)
	// The files that create it get the extension; find the readers with the
	// compiler on the converted text, member taken out of the header.
	for f := range conv {
		at := gen.InsertionPoint(p.Parse(f))
		conv[f] = append(conv[f], gen.TextEdit{Off: at, End: at, Text: gen.Styled(f, gen.Block(def))})
	}
	o, err := p.Oracle()
	if err != nil {
		refuse(p, pl, err.Error())
		return
	}
	files := p.CurrentFiles()
	for f, es := range conv {
		files[f] = []byte(gen.Apply(string(p.File(f)), append([]gen.TextEdit(nil), es...)))
	}
	hdr := p.File(pl.header)
	for _, m := range pl.members {
		hdr = member.RevertMember(p, m, hdr)
	}
	files[pl.header] = hdr
	res, err := o.MemberUses(context.Background(), files, p.CurrentSources())
	if err != nil {
		refuse(p, pl, err.Error())
		return
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
	readerEdits := map[string][]cexpr.Edit{}
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
			at := gen.InsertionPoint(p.Parse(f))
			es = append(es, gen.TextEdit{Off: at, End: at, Text: gen.Styled(f, gen.Block(def))})
		}
		for _, e := range es {
			p.Edit(f, e.Off, e.End, e.Text, "struct extension")
		}
		for _, e := range readerEdits[f] {
			p.Edit(f, e.Span.Off, e.Span.End, e.Text, "new member through the extension")
		}
	}
	cur := p.File(pl.header)
	for _, m := range pl.members {
		cur = member.RevertMember(p, m, cur)
	}
	p.Edit(pl.header, 0, len(p.File(pl.header)), string(cur), "member moved to the extension")
	pl.files = fileList
	var added []string
	for _, st := range pl.sites {
		if st.kind != "stack" && st.kind != "heap" {
			continue
		}
		if !changedUpstream(p, st.file, st.fn) {
			added = append(added, fmt.Sprintf("%s:%s (%s)", st.file, st.fn, st.kind))
		}
	}
	for _, m := range pl.members {
		p.Resolve(m.Entry, fmt.Sprintf("kept in %s, which starts with struct %s; created instead of it at %s; %d files reach it",
			ext, pl.tag, strings.Join(creators, ", "), len(fileList)))
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

func refuse(p *rewrite.Pass, pl *plan, why string) {
	for _, m := range pl.members {
		p.Refuse(m.Entry, "structext: "+why, rewrite.ManualOrFallback(p, "hole or a shadow variable"))
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
		gen.Wrap(fmt.Sprintf("The running kernel's %s has no %s and keeps its layout. The livepatch creates struct %s, which starts with it, wherever the kernel creates one; readers get back to it with to_%s().",
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
		b.WriteString(assertLine(fmt.Sprintf("offsetof(struct %s, %s) == offsetof(struct %s, %s)", pl.extName, n, pl.tag, n)))
	}
	for _, m := range pl.members {
		b.WriteString(assertLine(fmt.Sprintf("offsetof(struct %s, %s) >= sizeof(struct %s)", pl.extName, m.Name, pl.tag)))
	}
	fmt.Fprintf(&b, "\nstatic inline struct %s *\nto_%s(const struct %s *p)\n{\n\treturn container_of(p, struct %s, %s);\n}\n",
		pl.extName, pl.extName, pl.tag, pl.extName, pl.baseName)
	return b.String()
}

func assertLine(cond string) string {
	line := "static_assert(" + cond + ");\n"
	if len(line) <= 100 {
		return line
	}
	for _, op := range []string{" == ", " >= "} {
		if i := strings.Index(cond, op); i > 0 {
			return "static_assert(" + cond[:i] + op[:len(op)-1] + "\n\t      " + cond[i+len(op):] + ");\n"
		}
	}
	return line
}

// convertDecl turns "struct TAG name ..." into "struct TAG_ext name ...".
func convertDecl(f *ast.File, st *site, pl *plan) ([]gen.TextEdit, error) {
	toks := codeTokens(f)
	i := tokenAt(toks, st.off)
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
				return nil, fmt.Errorf("%s is declared together with other variables", st.name)
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
			return []gen.TextEdit{{Off: t.Off, End: t.End, Text: pl.extName}}, nil
		}
	}
	return nil, fmt.Errorf("%s is not declared as struct %s (a typedef?)", st.name, pl.tag)
}

// convertSizeof makes an allocation's size that of the extension.
func convertSizeof(f *ast.File, st *site, pl *plan) ([]gen.TextEdit, error) {
	toks := codeTokens(f)
	i := tokenAt(toks, st.off)
	for k := i; k >= 0 && k > i-6; k-- {
		if toks[k].Text == "sizeof" && k+1 < len(toks) && toks[k+1].Text == "(" {
			depth := 0
			for e := k + 1; e < len(toks); e++ {
				if toks[e].Text == "(" {
					depth++
				} else if toks[e].Text == ")" {
					depth--
					if depth == 0 {
						return []gen.TextEdit{{Off: toks[k+1].End, End: toks[e].Off, Text: "struct " + pl.extName}}, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("cannot find the sizeof of the allocation")
}
