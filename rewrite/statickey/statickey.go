// Package statickey is the transform for a jump label or static call site
// in a replaced function whose key lives in a module. Both builders refuse
// it (kpatch-build: "Found a jump label ... using key X, which is defined in
// a module"; klp-build alike): a livepatch module's jump table entries are
// resolved when it loads, before a module it patches may be loaded, so an
// entry that names a module's key would be set up against nothing. The
// kpatch patch-author guide's remedy is a plain read of the key:
//
// Before (upstream):	if (!static_branch_unlikely(&bond_bcast_neigh_enabled))
// After (rewritten):	if (!static_key_enabled(&bond_bcast_neigh_enabled))
//
// static_branch_likely(), static_branch_unlikely(), static_branch_maybe(),
// static_key_true() and static_key_false() all become static_key_enabled()
// of the same key: the same value, read from memory instead of patched into
// the code. A static call, static_call(name)(args), becomes a call through
// the key's function pointer: kpatch's KPATCH_STATIC_CALL(name)(args),
// klp-build's KLP_STATIC_CALL(name)(args), or what both expand to,
// ((typeof(STATIC_CALL_TRAMP(name)) *)STATIC_CALL_KEY(name).func)(args),
// the kernel's own definition of static_call() where the architecture has
// none.
//
// Where the key lives is read from the tree: a function built into vmlinux
// can only name vmlinux's keys, which both builders support (Linux 5.8 on);
// a key the patch itself defines lives in the livepatch module. Those sites
// stay as upstream wrote them. In a module, every other site is rewritten:
// the key is the module's own (a source of the module defines it) or
// another object's, and a plain read is right wherever it lives.
// static_call_cond() may call a NULL function (it then does nothing) and is
// left to the engineer.
//
// gcc inlines a static function of the file, or a header's static inline,
// into its caller with its sites: the site of a static function the
// replaced function calls is rewritten in place, and a header inline that
// holds one gets a copy in the file, under a new name, with plain reads,
// which the carried functions call (the header cannot change). A static
// call goes through the dialect's macro where the builder has one
// (KPATCH_STATIC_CALL(), KLP_STATIC_CALL()).
package statickey

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
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
)

// Transform is the statickey transform.
var Transform = &rewrite.Transform{
	Name:  "statickey",
	Doc:   "a jump label or static call site on a key a module owns becomes a plain read of the key in the replaced function (static_key_enabled(), a call through the static call key's function): both builders refuse a module's key there; sites on vmlinux's keys or on a key the patch adds stay",
	Kinds: []hazard.Kind{hazard.StaticKey},
	Run:   run,
}

// keyArg is the argument that names the key, per site-making macro.
var keyArg = map[string]int{
	"static_branch_likely":   0,
	"static_branch_unlikely": 0,
	"static_branch_maybe":    1,
	"static_key_true":        0,
	"static_key_false":       0,
	"static_call":            0,
	"static_call_mod":        0,
	"static_call_cond":       0,
}

// site is one use of a site-making macro in a replaced function.
type site struct {
	macro string
	key   string   // the key argument's text
	call  ast.Span // the macro invocation, name to closing parenthesis
}

func run(p *rewrite.Pass) error {
	// a static function's site is proposed once, whichever replaced
	// functions that call it brought it up
	edited := map[string]bool{}
	homes := &keyHomes{p: p, found: map[string]home{}}
	callMacro, callInclude := staticCallMacro(p)
	defined := newKeys(p)
	includes := map[string]*hazard.Hazard{} // files that call the dialect's macro
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || e.Kind != hazard.StaticKey || ch == nil || ch.PostFunc == nil {
			continue
		}
		// the site is in the replaced function, or in a static function
		// of the file it calls, which gcc may inline into it
		holder, inlined := ch.PostFunc.Name, ""
		for _, r := range e.Reaches {
			if name, ok := strings.CutPrefix(r, "func "); ok {
				holder, inlined = name, name
			}
		}
		macro := e.Subject[strings.LastIndex(e.Subject, ": ")+2:]
		if _, ok := keyArg[macro]; !ok {
			continue
		}
		cur := p.Parse(e.File)
		var sites []site
		for _, fn := range cur.Definitions(holder) {
			sites = append(sites, findSites(cur, fn, macro)...)
		}
		if len(sites) == 0 {
			continue
		}
		obj := p.Env.ObjectOf(e.File)
		var vmlinux, fresh, owners []string
		var plain []site
		for _, s := range sites {
			name := keyName(s)
			switch {
			case obj.Kind == kbuild.Vmlinux:
				vmlinux = appendNew(vmlinux, s.key)
				continue
			case name != "" && defined[name]:
				fresh = appendNew(fresh, name)
				continue
			}
			h, err := homes.of(e.File, name)
			if err != nil {
				return err
			}
			if h.vmlinux {
				vmlinux = appendNew(vmlinux, name)
				continue
			}
			plain = append(plain, s)
			owners = appendNew(owners, h.why)
		}
		if len(plain) == 0 {
			var why []string
			if len(vmlinux) > 0 {
				how := fmt.Sprintf("%s is built into vmlinux, which cannot name a module's symbols", e.File)
				if obj.Kind != kbuild.Vmlinux {
					how = "vmlinux defines it"
				}
				why = append(why, fmt.Sprintf("the key (%s) lives in vmlinux (%s), and both builders support jump labels and static calls on vmlinux's keys (Linux 5.8 on)", strings.Join(vmlinux, ", "), how))
			}
			if len(fresh) > 0 {
				why = append(why, fmt.Sprintf("the patch defines %s: the key is new, so it lives in the livepatch module with the replaced function", strings.Join(fresh, ", ")))
			}
			p.Resolve(e, "left as upstream wrote it: "+strings.Join(why, "; "))
			continue
		}
		if macro == "static_call_cond" {
			p.RefuseManual(e, fmt.Sprintf("static_call_cond(%s) in %s, a module: a static call on a module's key, which may be NULL (the call then does nothing)", plain[0].key, obj.Name()),
				fmt.Sprintf("call it through STATIC_CALL_KEY(%s).func, read once, when that is not NULL", plain[0].key))
			continue
		}
		owner := strings.Join(owners, "; ")
		var keys []string
		for _, s := range plain {
			keys = appendNew(keys, s.key)
			at := fmt.Sprintf("%s:%d", e.File, s.call.Off)
			if edited[at] {
				continue
			}
			edited[at] = true
			p.Edit(edit.Edit{File: e.File, Off: s.call.Off, End: s.call.End, Text: replacement(s, callMacro), Why: "statickey: plain read of a module's key", Hazard: e.Hazard})
			if callMacro != "" && strings.HasPrefix(s.macro, "static_call") && includes[e.File] == nil {
				includes[e.File] = e.Hazard
			}
		}
		how := "static_key_enabled() reads the same key as a plain condition"
		if strings.HasPrefix(macro, "static_call") {
			how = "a call through the static call key's function pointer calls the same function"
		}
		count := "a site"
		if len(plain) > 1 {
			count = fmt.Sprintf("%d sites", len(plain))
		}
		where := ""
		if inlined != "" {
			where = fmt.Sprintf(" in %s (which gcc may inline into %s; where it does not, the livepatch replaces %s too, with the same behaviour)", inlined, ch.PostFunc.Name, inlined)
		}
		p.Resolve(e, fmt.Sprintf("%s of %s on %s%s rewritten to %s: %s, which both builders accept in a replaced function, where they refuse a jump label or static call site on a module's key (%s)",
			count, macro, strings.Join(keys, ", "), where, replacement(plain[0], callMacro), how, owner))
	}
	carried, err := carriedSites(p, homes, defined, callMacro, includes, edited)
	if err != nil {
		return err
	}
	if err := headerInlines(p, homes, defined, callMacro, includes, carried); err != nil {
		return err
	}
	for _, file := range slices.Sorted(maps.Keys(includes)) {
		if e, ok := gen.Include(p.Parse(file), callInclude); ok {
			e.Why = "include for " + callMacro
			e.Hazard = includes[file]
			p.Edit(e)
		}
	}
	return nil
}

// findSites lists the invocations of macro in fn's body.
func findSites(f *ast.File, fn *ast.Func, macro string) []site {
	toks := f.CodeTokens(fn.Body)
	var out []site
	for i, t := range toks {
		if t.Kind != ast.Ident || t.Text != macro || i+1 >= len(toks) || !toks[i+1].Is("(") {
			continue
		}
		if i > 0 && (toks[i-1].Is(".") || toks[i-1].Is("->")) {
			continue
		}
		end := ast.MatchForward(toks, i+1)
		if end < 0 {
			continue
		}
		args := ast.ArgRanges(toks, i+1, end)
		k := keyArg[macro]
		if k >= len(args) || args[k][0] >= args[k][1] {
			continue
		}
		out = append(out, site{
			macro: macro,
			key:   string(f.Src[toks[args[k][0]].Off:toks[args[k][1]-1].End]),
			call:  ast.Span{Off: t.Off, End: toks[end].End},
		})
	}
	return out
}

var identRE = regexp.MustCompile(`^\(?\s*&?\s*\(?\s*([A-Za-z_]\w*)\s*\)?\s*\)?$`)

// keyName is the symbol a site's key argument names ("&foo" -> "foo"), or
// "" for an expression (a key inside a struct or an array).
func keyName(s site) string {
	m := identRE.FindStringSubmatch(s.key)
	if m == nil {
		return ""
	}
	return m[1]
}

// replacement is the plain form of a site. A static call goes through
// its key's function pointer: the builder's own macro where it has one
// (kpatch-macros.h's KPATCH_STATIC_CALL(), livepatch_helpers.h's
// KLP_STATIC_CALL()), else what both expand to.
func replacement(s site, callMacro string) string {
	if strings.HasPrefix(s.macro, "static_call") {
		if callMacro != "" {
			return callMacro + "(" + s.key + ")"
		}
		return fmt.Sprintf("((typeof(STATIC_CALL_TRAMP(%s)) *)STATIC_CALL_KEY(%s).func)", s.key, s.key)
	}
	return "static_key_enabled(" + s.key + ")"
}

// staticCallMacro returns the dialect's macro for a call through a static
// call key and the include that defines it, or "" where the tree has none
// (klp-build's livepatch_helpers.h, Linux 6.19 on).
func staticCallMacro(p *rewrite.Pass) (macro, include string) {
	if p.Options.Dialect == "kpatch" {
		return "KPATCH_STATIC_CALL", `#include "kpatch-macros.h"`
	}
	if p.Env.Tree.Exists("include/linux/livepatch_helpers.h") {
		return "KLP_STATIC_CALL", "#include <linux/livepatch_helpers.h>"
	}
	return "", ""
}

// newKeys returns the keys a file of the patch defines that no file of the
// base tree the patch touches defined: new data, which the builders put in
// the livepatch module.
func newKeys(p *rewrite.Pass) map[string]bool {
	out := map[string]bool{}
	old := map[string]bool{}
	for _, f := range p.Touched() {
		for k := range ast.StaticKeyDefinitions(p.Original(f)) {
			old[k] = true
		}
	}
	for _, f := range p.Touched() {
		for k := range ast.StaticKeyDefinitions(p.File(f)) {
			if !old[k] {
				out[k] = true
			}
		}
	}
	return out
}

// home is where a key lives, as far as the tree shows.
type home struct {
	vmlinux bool   // a source built into vmlinux defines it
	why     string // where it is defined, for the report
}

// keyHomes finds where the keys of a module's sites live: a source of the
// module beside the site's file, or, with one scan of the tree for all the
// keys asked so far, the sources that define them and the objects those
// build into.
type keyHomes struct {
	p     *rewrite.Pass
	found map[string]home // file + key
	// copies are the header inlines copied into the file being rewritten
	// (header + name -> the copy's name, "" for none)
	copies map[string]string
	// definers are the tree's sources that define each key looked for
	// (none: no source does in a way kprewrite reads)
	definers map[string][]string
}

// prefetch scans the tree once for the definitions of the keys of names
// not looked for yet.
func (k *keyHomes) prefetch(names []string) error {
	if k.definers == nil {
		k.definers = map[string][]string{}
	}
	var todo []string
	for _, n := range names {
		if _, ok := k.definers[n]; !ok && n != "" && !slices.Contains(todo, n) {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	found, err := k.p.Env.StaticKeyDefiners(todo)
	if err != nil {
		return err
	}
	for _, n := range todo {
		k.definers[n] = found[n]
	}
	return nil
}

func (k *keyHomes) of(file, name string) (home, error) {
	if name == "" {
		return home{why: "the key is an expression: it lives with its object, and a plain read is right wherever that is"}, nil
	}
	if h, ok := k.found[file+" "+name]; ok {
		return h, nil
	}
	h := home{}
	if f := k.p.Env.ModuleKeyDefiner(file, name); f != "" {
		h.why = name + " is defined in " + f + ", part of module " + k.p.Env.ObjectOf(file).Name()
	} else {
		if err := k.prefetch([]string{name}); err != nil {
			return home{}, err
		}
		var mods []string
		h.vmlinux, mods = k.p.Env.KeyObjects(k.definers[name])
		switch {
		case h.vmlinux:
		case len(mods) > 0:
			h.why = name + " is defined in module " + strings.Join(mods, ", module ")
		default:
			h.why = fmt.Sprintf("no source the config builds defines %s in a way kprewrite reads: a plain read is right wherever it lives", name)
		}
	}
	k.found[file+" "+name] = h
	return h, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// headerInlines gives the functions the livepatch carries in a module's
// file their own copy of each static inline function of a header the file
// includes (in its leading include block) that they call and that holds a
// site on a key of a module: gcc inlines it, site and all, into the
// replaced function, and the header cannot change. The copy, under a new
// name before the file's first function, reads the keys as statickey's
// sites do; the calls switch to it. The carried functions are the ones
// the patch changes and the static functions of the file they call, and
// those whose compiled code changes (compiled, from carriedSites).
func headerInlines(p *rewrite.Pass, homes *keyHomes, fresh map[string]bool, callMacro string, includes map[string]*hazard.Hazard, compiled map[string]map[string]bool) error {
	for _, file := range p.CurrentSources() {
		if p.Env.ObjectOf(file).Kind != kbuild.Module {
			continue
		}
		carried := maps.Clone(compiled[file]) // what the compiler says changes
		if carried == nil {
			carried = map[string]bool{}
		}
		if fc := p.ChangeOf(file); fc != nil && fc.Post != nil {
			for _, ch := range fc.Changes {
				if ch.PostFunc == nil || (ch.Kind != change.FuncChanged && ch.Kind != change.FuncAdded) {
					continue
				}
				carried[ch.PostFunc.Name] = true
				for _, c := range hazard.StaticCallees(fc, ch.PostFunc) {
					carried[c.Name] = true
				}
			}
		}
		if len(carried) == 0 {
			continue
		}
		cur := p.Parse(file)
		at := gen.InsertionPoint(cur)
		homes.copies = map[string]string{} // each file gets its own copies
		inlines := headerInlineDefs(p, file, func(h *ast.File) bool { return includedBefore(p, cur, h, at) })
		// the carried functions' calls of those inlines
		type call struct {
			tok    ast.Token
			caller string
			h      *ast.File
		}
		var found []call
		var names []string
		for _, fn := range cur.Funcs {
			if !carried[fn.Name] {
				continue
			}
			toks := cur.CodeTokens(fn.Body)
			for i, t := range toks {
				h := inlines[t.Text]
				if t.Kind != ast.Ident || h == nil || i+1 >= len(toks) || !toks[i+1].Is("(") || (i > 0 && (toks[i-1].Is(".") || toks[i-1].Is("->"))) {
					continue
				}
				found = append(found, call{t, fn.Name, h})
				for macro := range keyArg {
					for _, st := range findSites(h, h.Definitions(t.Text)[0], macro) {
						names = append(names, keyName(st))
					}
				}
			}
		}
		// one scan of the tree for the keys of them all
		if err := homes.prefetch(names); err != nil {
			return err
		}
		var copies []string
		var calls []edit.Edit
		for _, c := range found {
			t, h := c.tok, c.h
			name, code, err := inlineCopy(homes, file, fresh, inlines, h, h.Definitions(t.Text)[0], callMacro, 0)
			if err != nil {
				return err
			}
			if name == "" {
				continue // no site to rewrite: left as it is
			}
			if code != "" {
				copies = append(copies, code)
				p.Note(rewrite.Finding{File: file, Line: cur.Line(t.Off), Subject: t.Text,
					Reason: fmt.Sprintf("%s() of %s holds a jump label or static call on a key that does not live in vmlinux, and %s calls it: gcc inlines it into the replaced function, site and all, and both builders refuse that site; %s gets its own copy, %s(), with plain reads of the key (static_key_enabled(), a call through the static call key), and the functions the livepatch carries there call it",
						t.Text, h.Name, c.caller, file, name)})
				if callMacro != "" && strings.Contains(code, callMacro+"(") {
					if _, ok := includes[file]; !ok {
						includes[file] = nil
					}
				}
			}
			calls = append(calls, edit.Edit{File: file, Off: t.Off, End: t.End, Text: name, Why: "statickey: call of the header inline's copy"})
		}
		if len(copies) == 0 && len(calls) == 0 {
			continue
		}
		at = gen.AfterDefinitions(cur, at, strings.Join(copies, "\n"))
		p.Edit(edit.Edit{File: file, Off: at, End: at, Text: gen.InsertText(cur.Src, at, gen.Join(copies)), Why: "statickey: header inline copied"})
		for _, e := range calls {
			p.Edit(e)
		}
	}
	return nil
}

// maxInlineDepth is how deep inlineCopy follows a header inline's calls
// of other header inlines (kvm_rip_read() calls kvm_register_read_raw(),
// which holds a static call).
const maxInlineDepth = 3

// headerInlineDefs maps the static inline functions of the headers file
// includes (those direct includes keep says, and the headers they include
// with "x.h", three levels down: kvm's x86.h brings kvm_cache_regs.h) to
// the header that defines each, once, but those under an #if the config
// decides against.
func headerInlineDefs(p *rewrite.Pass, file string, keep func(h *ast.File) bool) map[string]*ast.File {
	inlines := map[string]*ast.File{}
	seen := map[string]bool{}
	var level []*ast.File
	for _, h := range p.IncludedHeaders(file) {
		if keep(h) && !seen[h.Name] {
			seen[h.Name] = true
			level = append(level, h)
		}
	}
	for depth := 0; depth < maxInlineDepth && len(level) > 0; depth++ {
		var next []*ast.File
		for _, h := range level {
			for _, fn := range h.Funcs {
				// one definition, and not one the config leaves out
				// (bonding.h's is_netpoll_tx_blocked() is a macro
				// without CONFIG_NET_POLL_CONTROLLER)
				if fn.IsInline() && fn.Has("static") && len(h.Definitions(fn.Name)) == 1 && p.Env.Config.EvalCond(h.CondAt(fn.Span.Off)) != kbuild.False {
					if _, ok := inlines[fn.Name]; !ok {
						inlines[fn.Name] = h
					}
				}
			}
			for _, inc := range h.Includes {
				if inc.System {
					continue
				}
				for _, path := range p.IncludePaths(h.Name, inc) {
					if p.File(path) != nil {
						if !seen[path] {
							seen[path] = true
							next = append(next, p.Parse(path))
						}
						break
					}
				}
			}
		}
		level = next
	}
	return inlines
}

// inlineCopy returns the name and the code of the copy, for file, of fn,
// a static inline function of header h, with plain reads of its sites on
// keys that do not live in vmlinux (code is "" when the copy was made for
// an earlier call), or "" when fn has no such site. A call in fn of
// another header inline (of inlines, by name) that needs a copy needs one
// of fn too, calling that copy: the copies of the callees come first in
// code. fresh are the keys the patch adds.
func inlineCopy(homes *keyHomes, file string, fresh map[string]bool, inlines map[string]*ast.File, h *ast.File, fn *ast.Func, callMacro string, depth int) (name, code string, err error) {
	if c, ok := homes.copies[h.Name+" "+fn.Name]; ok {
		return c, "", nil
	}
	homes.copies[h.Name+" "+fn.Name] = "" // no copy, unless one is made below (and no cycle)
	plain, err := moduleSites(homes, file, fresh, h, fn)
	if err != nil {
		return "", "", err
	}
	edits := []edit.Edit{}
	var callees []string // the callee copies' code, first
	var via []string
	if depth < maxInlineDepth {
		toks := h.CodeTokens(fn.Body)
		for i, t := range toks {
			ch := inlines[t.Text]
			if t.Kind != ast.Ident || ch == nil || t.Text == fn.Name || i+1 >= len(toks) || !toks[i+1].Is("(") || (i > 0 && (toks[i-1].Is(".") || toks[i-1].Is("->"))) {
				continue
			}
			if slices.ContainsFunc(plain, func(s site) bool { return s.call.Off <= t.Off && t.End <= s.call.End }) {
				continue // inside a site that becomes a plain read
			}
			cn, ccode, err := inlineCopy(homes, file, fresh, inlines, ch, ch.Definitions(t.Text)[0], callMacro, depth+1)
			if err != nil {
				return "", "", err
			}
			if cn == "" {
				continue
			}
			if ccode != "" {
				callees = append(callees, ccode)
			}
			via = appendNew(via, t.Text+"()")
			edits = append(edits, edit.Edit{Off: t.Off - fn.Span.Off, End: t.End - fn.Span.Off, Text: cn})
		}
	}
	if len(plain) == 0 && len(via) == 0 {
		return "", "", nil
	}
	name = homes.p.UniqueName(fn.Name + "_lp")
	homes.copies[h.Name+" "+fn.Name] = name
	for _, s := range plain {
		edits = append(edits, edit.Edit{Off: s.call.Off - fn.Span.Off, End: s.call.End - fn.Span.Off, Text: replacement(s, callMacro)})
	}
	for _, t := range h.CodeTokens(fn.Header) {
		if t.Kind == ast.Ident && t.Text == fn.Name {
			edits = append(edits, edit.Edit{Off: t.Off - fn.Span.Off, End: t.End - fn.Span.Off, Text: name})
			break
		}
	}
	text := edit.MustApply(string(h.Src[fn.Span.Off:fn.Span.End]), edits)
	var what []string
	if len(plain) > 0 {
		var keys []string
		for _, s := range plain {
			keys = appendNew(keys, s.key)
		}
		what = append(what, "plain reads of "+strings.Join(keys, ", "))
	}
	if len(via) > 0 {
		what = append(what, "calls of the copies of "+strings.Join(via, ", "))
	}
	comment := gen.Comment("", gen.Wrap(gen.Banner+": "+fn.Name+"() of "+h.Name+", with "+strings.Join(what, " and ")+
		": a livepatch cannot keep a jump label or static call on a module's key. "+gen.Generated, 72)...)
	return name, gen.Join(append(callees, comment+text)), nil
}

// includedBefore reports whether file includes header h before offset at.
func includedBefore(p *rewrite.Pass, f *ast.File, h *ast.File, at int) bool {
	for _, inc := range f.Includes {
		if inc.Span.Off >= at {
			continue
		}
		if slices.Contains(p.IncludePaths(f.Name, inc), h.Name) {
			return true
		}
	}
	return false
}
