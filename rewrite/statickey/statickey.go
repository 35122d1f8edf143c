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
// the key's function pointer, ((typeof(STATIC_CALL_TRAMP(name)) *)
// STATIC_CALL_KEY(name).func)(args): what kpatch's KPATCH_STATIC_CALL() and
// klp-build's KLP_STATIC_CALL() expand to, and the kernel's own definition
// of static_call() where the architecture has none.
//
// Where the key lives is read from the tree: a function built into vmlinux
// can only name vmlinux's keys, which both builders support (Linux 5.8 on);
// a key the patch itself defines lives in the livepatch module. Those sites
// stay as upstream wrote them. In a module, every other site is rewritten:
// the key is the module's own (a source of the module defines it) or
// another object's, and a plain read is right wherever it lives.
// static_call_cond() may call a NULL function (it then does nothing) and is
// left to the engineer.
package statickey

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/rewrite"
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
	key   string    // the key argument's text
	call  ast.Span  // the macro invocation, name to closing parenthesis
	name  ast.Token // the macro name
}

func run(p *rewrite.Pass) error {
	// a static function's site is proposed once, whichever replaced
	// functions that call it brought it up
	edited := map[string]bool{}
	homes := &keyHomes{p: p, found: map[string]home{}}
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
		defined := newKeys(p)
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
			p.Edit(edit.Edit{File: e.File, Off: s.call.Off, End: s.call.End, Text: replacement(s), Why: "statickey: plain read of a module's key", Hazard: e.Hazard})
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
			count, macro, strings.Join(keys, ", "), where, replacement(plain[0]), how, owner))
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
		args := argSpans(toks, i+1, end)
		k := keyArg[macro]
		if k >= len(args) {
			continue
		}
		out = append(out, site{
			macro: macro,
			key:   string(f.Src[args[k].Off:args[k].End]),
			call:  ast.Span{Off: t.Off, End: toks[end].End},
			name:  t,
		})
	}
	return out
}

// argSpans returns the source spans of the arguments between the
// parentheses at toks[open] and toks[close].
func argSpans(toks []ast.Token, open, close int) []ast.Span {
	var out []ast.Span
	depth, start := 0, open+1
	for j := open + 1; j <= close; j++ {
		switch t := toks[j]; {
		case t.Is("(") || t.Is("[") || t.Is("{"):
			depth++
		case (t.Is(")") || t.Is("]") || t.Is("}")) && j < close:
			depth--
		case (t.Is(",") && depth == 0) || j == close:
			if start < j {
				out = append(out, ast.Span{Off: toks[start].Off, End: toks[j-1].End})
			}
			start = j + 1
		}
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

// replacement is the plain form of a site.
func replacement(s site) string {
	if strings.HasPrefix(s.macro, "static_call") {
		return fmt.Sprintf("((typeof(STATIC_CALL_TRAMP(%s)) *)STATIC_CALL_KEY(%s).func)", s.key, s.key)
	}
	return "static_key_enabled(" + s.key + ")"
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
}

func (k *keyHomes) of(file, name string) (home, error) {
	mod := k.p.Env.ObjectOf(file).Name()
	if name == "" {
		return home{why: "the key is an expression: it lives with its object, and a plain read is right wherever that is"}, nil
	}
	if h, ok := k.found[file+" "+name]; ok {
		return h, nil
	}
	h := home{}
	for _, f := range k.p.Env.ModuleSources(file) {
		if ast.StaticKeyDefinitions(k.p.Original(f))[name] {
			h.why = name + " is defined in " + f + ", part of module " + mod
			break
		}
	}
	if h.why == "" {
		definers, err := k.p.Env.StaticKeyDefiners([]string{name})
		if err != nil {
			return home{}, err
		}
		var mods []string
		for _, f := range definers[name] {
			switch o := k.p.Env.ObjectOf(f); o.Kind {
			case kbuild.Vmlinux:
				h.vmlinux = true
			case kbuild.Module:
				mods = appendNew(mods, f+" (module "+o.Name()+")")
			}
		}
		switch {
		case h.vmlinux:
		case len(mods) > 0:
			h.why = name + " is defined in " + strings.Join(mods, ", ")
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
