package shadow

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A new work item (struct work_struct, struct delayed_work) in a shadow
// variable. Three things set it apart from other members reached through a
// pointer accessor:
//
//   - Objects created before the livepatch never ran upstream's
//     INIT_WORK(): a zeroed work cannot be queued. The shadow's
//     constructor initialises it with the function upstream's init names
//     (one function, in the file that defines it), so the first use of an
//     old object finds a work ready to queue; upstream's init becomes a
//     re-initialisation of the shadow when there is one (nothing else: the
//     constructor initialises a new one).
//   - The work function gets back to its object with container_of() on
//     the member. The shadow holds a back pointer, set by the constructor
//     to the object it is attached to: container_of(w, struct outer,
//     path.m) becomes container_of(owner(w), struct outer, path).
//   - A pending work must not outlive its memory, nor the livepatch
//     module its function lives in. Upstream cancels the work before the
//     object goes (the member would go with it), so a shadow freed with its
//     object holds an idle work; when the livepatch is disabled, the
//     post-unpatch callback cancels every work (the shadows are listed,
//     under a spinlock, by the constructor and the destructor) before it
//     frees them.

// workType is a work item type: the init macros upstream may use on it and
// the call that waits for one to be cancelled.
type workType struct {
	inits  []string
	cancel string
	// disable is the call that cancels a work and makes it refuse to be
	// queued again (Linux 6.10): the unpatch callback uses it where the
	// tree has it, so a work function of the livepatch still running at
	// the disable cannot queue a work again after it was cancelled
	disable string
}

var workTypes = map[string]workType{
	"struct work_struct":  {inits: []string{"INIT_WORK"}, cancel: "cancel_work_sync", disable: "disable_work_sync"},
	"struct delayed_work": {inits: []string{"INIT_DELAYED_WORK", "INIT_DEFERRABLE_WORK"}, cancel: "cancel_delayed_work_sync", disable: "disable_delayed_work_sync"},
}

// workPlan is how a work member lives in its shadow.
type workPlan struct {
	typ       workType
	stop      string // what the unpatch callback calls on each work: disable, or cancel
	initUses  int    // upstream's init statements of the member the compiler found
	init, fn  string // upstream's init macro and the work function it names
	fnDecl    string // the function's declaration, for the constructor
	file      string // the file that defines the function: the code lives there
	data      string // the shadow's struct: the work, the owner, the list node
	list      string // every shadow of the member, for the unpatch callback
	lock      string
	ctor      string
	dtor      string
	reinit    string // what upstream's init becomes
	owner     string // the object a work belongs to
	cancelAll string
}

// planWork finds upstream's init of a work member in the patched files and
// names the code around it; it returns why the member cannot be a work in a
// shadow.
func planWork(p *rewrite.Pass, pl *plan, wt workType) (*workPlan, string) {
	m := pl.m
	re := regexp.MustCompile(`\b(` + strings.Join(wt.inits, "|") + `)\s*\(\s*&\s*[^;]*?\s*(?:->|\.)\s*` + regexp.QuoteMeta(m.Name) + `\s*,\s*(\w+)\s*\)\s*;`)
	type site struct{ file, init, fn string }
	var found []site
	files := p.CurrentFiles()
	var names []string
	for f := range files {
		if strings.HasSuffix(f, ".c") {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range names {
		for _, mm := range re.FindAllSubmatch(files[f], -1) {
			found = append(found, site{f, string(mm[1]), string(mm[2])})
		}
	}
	if len(found) == 0 {
		return nil, fmt.Sprintf("the patched code never initialises it (%s): objects created before the livepatch would need a work function kprewrite does not know", strings.Join(wt.inits, ", "))
	}
	for _, s := range found[1:] {
		if s.init != found[0].init || s.fn != found[0].fn || s.file != found[0].file {
			return nil, fmt.Sprintf("the patched code initialises it in more than one way (%s(%s) in %s, %s(%s) in %s): a shadow made for an object created before the livepatch needs the one function it runs", found[0].init, found[0].fn, found[0].file, s.init, s.fn, s.file)
		}
	}
	f := p.Parse(found[0].file)
	fn := f.Func(found[0].fn)
	if fn == nil {
		return nil, fmt.Sprintf("%s(..., %s) in %s names a function that file does not define: the shadow's constructor must name it there", found[0].init, found[0].fn, found[0].file)
	}
	stop := wt.cancel
	if strings.Contains(string(p.File("include/linux/workqueue.h")), wt.disable+"(") {
		stop = wt.disable
	}
	base := member.TagOf(m.Key) + "_" + m.Name
	wp := &workPlan{typ: wt, stop: stop, init: found[0].init, fn: found[0].fn, file: found[0].file,
		fnDecl: f.Normalized(fn.Header) + ";",
		data:   p.UniqueName(base + "_shadow"), list: p.UniqueName(base + "_list"), lock: p.UniqueName(base + "_lock"),
		ctor: p.UniqueName(base + "_ctor"), dtor: p.UniqueName(base + "_dtor"), reinit: p.UniqueName(base + "_init"),
		owner: p.UniqueName(base + "_owner"), cancelAll: p.UniqueName(base + "_cancel_all")}
	return wp, ""
}

// workCode renders the shadow of a work member: its struct, the list of
// shadows, the constructor and destructor, the pointer accessor, the
// re-initialisation, the owner and the unpatch cancellation.
func workCode(pl *plan) string {
	m, wp := pl.m, pl.work
	tag := m.Key
	var b strings.Builder
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s in a shadow variable.", gen.Banner, m.Key, m.Name)},
		gen.Wrap(fmt.Sprintf(gen.Generated+" %s has no %s in the running kernel and must keep its layout: the work lives in a klp shadow variable attached to each object, initialised by the constructor with %s() for objects created before the livepatch too, with a pointer back to its object for the work function. The shadows are listed so that the post-unpatch callback can cancel every pending work before it frees them.",
			m.Key, m.Name, wp.fn), 76)...)...))
	fmt.Fprintf(&b, "#define %s\t%sUL\n\n", pl.idMacro, pl.id)
	fmt.Fprintf(&b, "%s\n\n", wp.fnDecl)
	fmt.Fprintf(&b, "struct %s {\n\t%s work;\n\t%s *owner;\n\tstruct list_head node;\n};\n\n", wp.data, pl.typ, tag)
	fmt.Fprintf(&b, "static LIST_HEAD(%s);\nstatic DEFINE_SPINLOCK(%s);\n\n", wp.list, wp.lock)
	locked := func(stmt string) string {
		return fmt.Sprintf("\tspin_lock_irqsave(&%s, flags);\n\t%s\n\tspin_unlock_irqrestore(&%s, flags);\n", wp.lock, stmt, wp.lock)
	}
	local := fmt.Sprintf("\tstruct %s *w = shadow_data;\n\tunsigned long flags;\n\n", wp.data)
	b.WriteString(gen.Signature("static int", wp.ctor, []string{"void *obj", "void *shadow_data", "void *ctor_data"}) + "\n{\n" + local)
	fmt.Fprintf(&b, "\t%s(&w->work, %s);\n\tw->owner = obj;\n", wp.init, wp.fn)
	b.WriteString(locked(fmt.Sprintf("list_add(&w->node, &%s);", wp.list)) + "\treturn 0;\n}\n\n")
	b.WriteString(gen.Signature("static void", wp.dtor, []string{"void *obj", "void *shadow_data"}) + "\n{\n" + local)
	b.WriteString(locked("list_del_init(&w->node);") + "}\n\n")
	b.WriteString(gen.Signature("static inline "+pl.typ+" *", m.Ptr, []string{"const " + tag + " *s", "gfp_t gfp"}) + "\n{\n")
	fmt.Fprintf(&b, "\tstruct %s *w;\n\n", wp.data)
	b.WriteString(gen.Call("\t", "w = klp_shadow_get_or_alloc", []string{"(void *)s", pl.idMacro, "sizeof(*w)", "gfp", wp.ctor, "NULL"}, ";") + "\n")
	b.WriteString("\treturn w ? &w->work : NULL;\n}\n\n")
	b.WriteString(gen.Comment("", gen.Wrap(fmt.Sprintf("Upstream's %s(): the constructor initialises a new shadow; one that exists is initialised again.", wp.init), 76)...))
	b.WriteString(gen.Signature("static inline void", wp.reinit, []string{"const " + tag + " *s"}) + "\n{\n")
	fmt.Fprintf(&b, "\tstruct %s *w;\n\n%s\n", wp.data, gen.Call("\t", "w = klp_shadow_get", []string{"(void *)s", pl.idMacro}, ";"))
	fmt.Fprintf(&b, "\tif (w)\n\t\t%s(&w->work, %s);\n}\n\n", wp.init, wp.fn)
	b.WriteString(gen.Signature("static inline "+tag+" *", wp.owner, []string{pl.typ + " *work"}) + "\n{\n")
	fmt.Fprintf(&b, "\treturn container_of(work, struct %s, work)->owner;\n}\n\n", wp.data)
	b.WriteString(gen.Comment("", gen.Wrap("When the livepatch is disabled: no patched code queues a work any more; wait for every pending one before the shadows (and this module's work function) go.", 76)...))
	fmt.Fprintf(&b, "static void %s(void)\n{\n", wp.cancelAll)
	fmt.Fprintf(&b, "\tstruct %s *w;\n\tunsigned long flags;\n\n", wp.data)
	fmt.Fprintf(&b, "\tspin_lock_irqsave(&%s, flags);\n", wp.lock)
	fmt.Fprintf(&b, "\tfor (;;) {\n%s\n", gen.Call("\t\t", "w = list_first_entry_or_null", []string{"&" + wp.list, "struct " + wp.data, "node"}, ";"))
	fmt.Fprintf(&b, "\t\tif (!w)\n\t\t\tbreak;\n")
	fmt.Fprintf(&b, "\t\tlist_del_init(&w->node);\n\t\tspin_unlock_irqrestore(&%s, flags);\n\t\t%s(&w->work);\n\t\tspin_lock_irqsave(&%s, flags);\n\t}\n", wp.lock, wp.stop, wp.lock)
	fmt.Fprintf(&b, "\tspin_unlock_irqrestore(&%s, flags);\n}\n", wp.lock)
	return b.String()
}

// workReplace claims the uses of a work member that do not go through the
// pointer accessor: upstream's init statement, "INIT_DELAYED_WORK(&obj->m,
// fn);", which becomes the re-initialisation, and the member path of a
// container_of() (workContainer).
func workReplace(p *rewrite.Pass, pl *plan) func(string, []byte, *cexpr.Access) (int, int, string, bool) {
	return func(file string, src []byte, a *cexpr.Access) (int, int, string, bool) {
		if off, end, ok := initStatement(p, pl, file, src, a); ok {
			obj := string(src[a.Object.Off:a.Object.End])
			return off, end, pl.work.reinit + "(" + cexpr.AddressOf(obj, a.Arrow) + ");", true
		}
		if off, ok := containerOf(p, file, src, a); ok {
			if e, why := workContainer(p, pl, file, off); why == "" {
				return e.Off, e.End, e.Text, true
			}
		}
		return 0, 0, "", false
	}
}

// workCheck is asked about a use of a work member before anything is
// rewritten: the init and container_of() uses must rewrite, the others
// go through the pointer accessor (check).
func workCheck(p *rewrite.Pass, pl *plan, check func(string, *cexpr.Access) string) func(string, *cexpr.Access) string {
	wp := pl.work
	return func(file string, a *cexpr.Access) string {
		src := p.File(file)
		if _, _, ok := initStatement(p, pl, file, src, a); ok {
			wp.initUses++
			return "" // becomes the re-initialisation: nothing allocated
		}
		if mac := initMacro(p, file, a); mac != "" {
			return fmt.Sprintf("%s:%d initialises the work (%s) in a form kprewrite does not read, not as \"%s(&obj->%s, %s);\"", file, a.Line, mac, wp.init, pl.m.Name, wp.fn)
		}
		if off, ok := containerOf(p, file, src, a); ok {
			_, why := workContainer(p, pl, file, off)
			return why
		}
		if file != wp.file {
			return fmt.Sprintf("%s:%d uses the work, while its shadow code lives in %s, with %s()", file, a.Line, wp.file, wp.fn)
		}
		return check(file, a)
	}
}

// initMacro names the INIT_*WORK macro whose argument holds the access,
// or "".
func initMacro(p *rewrite.Pass, file string, a *cexpr.Access) string {
	f := p.Parse(file)
	toks := sites.CodeTokens(f)
	open, _, ok := sites.EnclosingParen(toks, sites.TokenAt(toks, a.Full.Off), 0)
	if !ok || open == 0 {
		return ""
	}
	if name := toks[open-1].Text; strings.Contains(name, "INIT_") && strings.Contains(name, "WORK") {
		return name
	}
	return ""
}

// initStatement returns the byte range of "INIT(&obj->m, fn);" around the
// access a, when it is upstream's init with the plan's function.
func initStatement(p *rewrite.Pass, pl *plan, file string, src []byte, a *cexpr.Access) (int, int, bool) {
	f := p.Parse(file)
	if string(f.Src) != string(src) {
		return 0, 0, false
	}
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, a.Full.Off)
	if i < 3 || toks[i-1].Text != "&" || toks[i-2].Text != "(" || toks[i-3].Text != pl.work.init {
		return 0, 0, false
	}
	j := sites.TokenAt(toks, a.Full.End)
	if j+4 >= len(toks) || toks[j].Text != "," || toks[j+1].Text != pl.work.fn || toks[j+2].Text != ")" || toks[j+3].Text != ";" {
		return 0, 0, false
	}
	return toks[i-3].Off, toks[j+3].End, true
}

// containerOf reports whether the access a is the member argument of a
// container_of() call of file, and where the call starts.
func containerOf(p *rewrite.Pass, file string, src []byte, a *cexpr.Access) (int, bool) {
	f := p.Parse(file)
	if string(f.Src) != string(src) {
		return 0, false
	}
	toks := sites.CodeTokens(f)
	open, arg, ok := sites.EnclosingParen(toks, sites.TokenAt(toks, a.Member.Off), 0)
	if !ok || arg != 2 || open == 0 || toks[open-1].Text != "container_of" {
		return 0, false
	}
	return toks[open-1].Off, true
}

// workMacro is the Macro hook of a work member: a use the compiler finds
// in a header's macro body must be container_of()'s, invoked in a .c file.
func workMacro(p *rewrite.Pass, pl *plan) func(u oracle.Use) ([]edit.Edit, string) {
	done := map[string]bool{}
	return func(u oracle.Use) ([]edit.Edit, string) {
		x := u.Expansion
		if x == nil || change.IsHeader(x.File) || x.Macro != "container_of" {
			where := fmt.Sprintf("%s:%d", u.File, u.Line)
			if x != nil {
				where = fmt.Sprintf("%s() at %s:%d", x.Macro, x.File, x.Line)
			}
			return nil, fmt.Sprintf("%s names the member other than through a container_of() of a .c file: code there gets back to the object from the member's address", where)
		}
		at := fmt.Sprintf("%s:%d:%d", x.File, x.Line, x.Col)
		if done[at] {
			return nil, ""
		}
		done[at] = true
		f := p.Parse(x.File)
		e, why := workContainer(p, pl, x.File, f.Lines.Start(x.Line)+x.Col-1)
		if why != "" {
			return nil, why
		}
		return []edit.Edit{e}, ""
	}
}

// workContainer rewrites the container_of() call at off of file,
// container_of(ptr, struct outer, path.m), into container_of(owner(ptr),
// struct outer, path), or owner(ptr) when path is the member itself (the
// struct is the one the shadow is attached to). A delayed work reached
// through its inner work (path.m.work) goes through to_delayed_work()
// first.
func workContainer(p *rewrite.Pass, pl *plan, file string, off int) (edit.Edit, string) {
	m, wp := pl.m, pl.work
	f := p.Parse(file)
	where := fmt.Sprintf("%s:%d", file, f.Lines.Line(off))
	if file != wp.file {
		return edit.Edit{}, fmt.Sprintf("%s gets back to the object from the work, while the work's shadow code lives in %s, with %s()", where, wp.file, wp.fn)
	}
	toks := f.CodeTokens(ast.Span{Off: off, End: len(f.Src)})
	if len(toks) < 4 || toks[0].Text != "container_of" || toks[1].Text != "(" {
		return edit.Edit{}, where + ": not a call of container_of()"
	}
	end := ast.MatchForward(toks, 1)
	if end < 0 {
		return edit.Edit{}, where + ": container_of() without its closing parenthesis"
	}
	args := ast.ArgRanges(toks, 1, end)
	if len(args) != 3 || args[0][0] >= args[0][1] {
		return edit.Edit{}, where + ": container_of() without three arguments"
	}
	text := func(r [2]int) string { return ast.JoinTokens(toks[r[0]:r[1]]) }
	ptr, outer := string(f.Src[toks[args[0][0]].Off:toks[args[0][1]-1].End]), text(args[1])
	var path []string
	for k := args[2][0]; k < args[2][1]; k++ {
		switch t := toks[k]; {
		case t.Kind == ast.Ident:
			path = append(path, t.Text)
		case t.Text == "." && k > args[2][0] && k+1 < args[2][1]:
		default:
			return edit.Edit{}, fmt.Sprintf("%s: container_of()'s member %q is not a plain path of members", where, text(args[2]))
		}
	}
	n := len(path)
	switch {
	case n > 0 && path[n-1] == m.Name:
	case n > 1 && path[n-2] == m.Name && path[n-1] == "work" && pl.typ == "struct delayed_work":
		ptr = "to_delayed_work(" + ptr + ")"
		path = path[:n-1]
	default:
		return edit.Edit{}, fmt.Sprintf("%s: container_of(..., %s) reaches %s in a way kprewrite does not rewrite", where, text(args[2]), m.Name)
	}
	path = path[:len(path)-1]
	repl := wp.owner + "(" + ptr + ")"
	if len(path) > 0 {
		repl = "container_of(" + repl + ", " + outer + ", " + strings.Join(path, ".") + ")"
	} else if outer != m.Key {
		return edit.Edit{}, fmt.Sprintf("%s: container_of(..., %s, %s) names %s, not %s", where, outer, m.Name, outer, m.Key)
	}
	return edit.Edit{File: file, Off: off, End: toks[end].End, Text: repl, Why: "the work's owner"}, ""
}
