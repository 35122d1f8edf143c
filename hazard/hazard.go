// Package hazard finds what in a patch a livepatch builder cannot take as it
// is: struct layout changes, header changes, static locals, __init code,
// changed data initializers, non-livepatchable files and the other kinds
// the README lists under analyze. Each hazard names its location, what it
// is about, why it matters and what should happen to it; the transforms
// later claim the hazards they can rewrite.
package hazard

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
)

// Kind is the class of a hazard, as it appears in reports and JSON.
type Kind string

// Hazard kinds.
const (
	StructLayout     Kind = "struct-layout"
	HeaderInline     Kind = "header-inline"
	HeaderMacro      Kind = "header-macro"
	HeaderDecl       Kind = "header-declaration"
	HeaderOther      Kind = "header-other"
	HeaderEnum       Kind = "header-enum"
	SourceEnum       Kind = "source-enum"  // an enum of a .c file whose constants change
	SourceMacro      Kind = "source-macro" // a macro of a .c file that its structs or data use
	StaticLocal      Kind = "static-local"
	InitCode         Kind = "init-code"
	DataInit         Kind = "data-initializer"
	NewData          Kind = "new-data"
	NotLivepatchable Kind = "not-livepatchable"
	Syscall          Kind = "syscall"
	PrintOnce        Kind = "print-once"
	StaticKey        Kind = "static-key"
	Export           Kind = "export"
	NewInclude       Kind = "new-include"
	Prototype        Kind = "prototype-change"
	Notrace          Kind = "notrace"
	Unclassified     Kind = "unclassified"
)

// Hazard is one thing in the patch that a livepatch cannot carry as it is.
type Hazard struct {
	File    string
	Line    int
	Kind    Kind
	Subject string
	Reason  string
	// Action is what should happen: "manual: <what the engineer does>", or
	// "none" for notes that need nothing. Transforms that take a hazard
	// replace it with their own name.
	Action string
	// Auto says the hazard can be rewritten as it is, without a decision
	// only an engineer can make: the driver predicts as its action the
	// first transform of its registry that takes its Kind, and Action
	// stays what the engineer does when no transform does.
	Auto bool
	// Reaches are, for a source-macro hazard, the structs and data of the
	// file that use the macro ("var amdkfd_ioctls", "struct elan_drvdata"):
	// a transform that rewrites all of them takes the macro's change too.
	Reaches []string
	Change  *change.Change // the change behind the hazard, nil for file-level ones
}

// syscallWithArgs matches the syscall definition macros whose body lands in
// a static inline function.
var syscallWithArgs = regexp.MustCompile(`^(COMPAT_)?SYSCALL_DEFINE[1-6]$`)

// Manual builds an action that needs an engineer.
func Manual(what string) string { return "manual: " + what }

// NeedsHuman reports whether the hazard's action is manual.
func (h *Hazard) NeedsHuman() bool { return strings.HasPrefix(h.Action, "manual") }

var (
	onceRE = regexp.MustCompile(`^(printk_once|printk_deferred_once|pr_[a-z]+_once|dev_[a-z]+_once|netdev_[a-z]+_once|WARN_ONCE|WARN_ON_ONCE|net_[a-z]+_ratelimited_once|printk_ratelimited_once)$`)
	// staticKeyRE matches what makes a jump label or a static call site in
	// the replaced function; calls that only take a key's address
	// (static_branch_inc(), static_call_update()) are ordinary relocations
	staticKeyRE = regexp.MustCompile(`^(static_branch_(likely|unlikely|maybe)|static_key_(true|false)|static_call|static_call_cond|static_call_mod)$`)
	exportRE    = regexp.MustCompile(`^EXPORT_(SYMBOL|SYMBOL_GPL|SYMBOL_NS|SYMBOL_NS_GPL|PER_CPU_SYMBOL|PER_CPU_SYMBOL_GPL)$`)
	dataMacroRE = regexp.MustCompile(`^(DEFINE_[A-Z_]+|DECLARE_[A-Z_]+|LIST_HEAD|HLIST_HEAD|LLIST_HEAD)$`)
	initAttrs   = []string{"__init", "__exit", "__meminit", "__devinit", "__cpuinit", "__ref"}
	initData    = []string{"__initdata", "__initconst", "__exitdata", "__meminitdata", "__initdata_or_module"}
)

// NotLivepatchablePath explains why code in path can never be livepatched,
// or returns "".
func NotLivepatchablePath(p string) string {
	switch {
	case path.Ext(p) == ".S" || path.Ext(p) == ".s":
		return "assembly files are not livepatchable: livepatch replaces C functions through ftrace"
	case strings.HasPrefix(p, "lib/"):
		return "lib/ is linked as a library archive; livepatch builders refuse it"
	case strings.Contains(p, "/vdso/") || strings.HasPrefix(p, "vdso/"):
		return "vDSO code runs in user space; klp-build refuses */vdso/*"
	case strings.Contains(p, "/realmode/rm/"):
		return "real-mode trampoline code cannot be livepatched; klp-build refuses */realmode/rm/*"
	case strings.HasPrefix(p, "tools/") || strings.HasPrefix(p, "scripts/") || strings.HasPrefix(p, "Documentation/"):
		return "not kernel code: nothing to livepatch"
	}
	return ""
}

// Analyze returns the hazards of the files a patch changes, sorted by file
// and line.
func Analyze(files []*change.File) []*Hazard {
	var out []*Hazard
	for _, fc := range files {
		out = append(out, analyzeFile(fc)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func analyzeFile(fc *change.File) []*Hazard {
	var hs []*Hazard
	add := func(h *Hazard) {
		if h.File == "" {
			h.File = fc.Path
		}
		hs = append(hs, h)
	}
	if why := NotLivepatchablePath(fc.Path); why != "" && fc.Diff != nil {
		line := 1
		if len(fc.Diff.Hunks) > 0 {
			line = fc.Diff.Hunks[0].NewStart
		}
		add(&Hazard{Line: line, Kind: NotLivepatchable, Subject: fc.Path, Reason: why,
			Action: Manual("drop this file from the livepatch, or patch the C callers instead")})
		return hs
	}
	ext := path.Ext(fc.Path)
	if ext != ".c" && ext != ".h" {
		if fc.Diff != nil {
			add(&Hazard{Line: 1, Kind: Unclassified, Subject: fc.Path, Reason: "not a C source or header: a livepatch carries only function changes",
				Action: Manual("drop this file from the livepatch if it does not affect the running kernel's code")})
		}
		return hs
	}
	for _, ch := range fc.Changes {
		for _, h := range forChange(fc, ch) {
			h.Change = ch
			add(h)
		}
	}
	// Scan every function the patch replaces for constructs that behave
	// differently in a livepatch module.
	if fc.Post != nil {
		for _, ch := range fc.Changes {
			if ch.PostFunc == nil || (ch.Kind != change.FuncChanged && ch.Kind != change.FuncAdded) {
				continue
			}
			for _, h := range scanBody(fc, ch) {
				h.Change = ch
				add(h)
			}
		}
	}
	return hs
}

// cleanupMacros are include/linux/cleanup.h's generators: each defines a
// type and static inline functions, nothing else.
var cleanupMacros = map[string]bool{
	"DEFINE_FREE": true, "DEFINE_CLASS": true, "EXTEND_CLASS": true, "DEFINE_GUARD": true,
	"DEFINE_GUARD_COND": true, "DEFINE_LOCK_GUARD_0": true, "DEFINE_LOCK_GUARD_1": true,
	"DEFINE_LOCK_GUARD_1_COND": true,
}

// redefines reports whether an added macro call replaces a removed one of
// the same macro with the same first argument (a changed DEFINE_FREE).
func redefines(fc *change.File, ch *change.Change) bool {
	first := func(s string) string {
		s, _, _ = strings.Cut(s, ",")
		return strings.TrimSpace(s)
	}
	for _, o := range fc.Changes {
		if o.Kind == change.CallRemoved && o.Name == ch.Name && first(o.Subject) == first(ch.Subject) {
			return true
		}
	}
	return false
}

func forChange(fc *change.File, ch *change.Change) []*Hazard {
	hdr := fc.IsHeader
	var out []*Hazard
	h := func(kind Kind, reason, action string) {
		out = append(out, &Hazard{Line: ch.Line, Kind: kind, Subject: ch.Subject, Reason: reason, Action: action})
	}
	// auto is h for a hazard a transform can rewrite as it is; manual is
	// what the engineer does when no transform of the registry takes kind
	auto := func(kind Kind, reason, manual string) {
		out = append(out, &Hazard{Line: ch.Line, Kind: kind, Subject: ch.Subject, Reason: reason, Action: Manual(manual), Auto: true})
	}
	switch ch.Kind {
	case change.MemberAdded:
		h(StructLayout, fmt.Sprintf("new member %q changes the layout of %s; objects that exist when the livepatch loads were allocated without it",
			ch.New, "struct "+ch.Struct),
			Manual("keep the layout: put the member in spare bits or a hole, or in a klp shadow variable"))
	case change.MemberRemoved:
		h(StructLayout, fmt.Sprintf("removing member %q shifts the members after it in struct %s", ch.Old, ch.Struct),
			Manual("keep the member in the struct and stop using it"))
	case change.MemberRetyped:
		h(StructLayout, fmt.Sprintf("member type changes from %q to %q in struct %s", ch.Old, ch.New, ch.Struct),
			Manual("keep the old type; convert at the use sites or keep the new value in a shadow variable"))
	case change.MemberBits:
		h(StructLayout, fmt.Sprintf("bitfield width changes from %q to %q in struct %s", ch.Old, ch.New, ch.Struct),
			Manual("keep the old width; use spare bits for the extra range"))
	case change.StructOther:
		h(StructLayout, fmt.Sprintf("the definition of %s changes in a way kprewrite does not model (a member declared again, an attribute on a member or on the %s): its layout may change", ch.Subject, strings.Fields(ch.Subject)[0]),
			Manual("keep the definition as it is in the running kernel"))
	case change.MemberReordered:
		h(StructLayout, fmt.Sprintf("members of struct %s are reordered (%s -> %s)", ch.Struct, ch.Old, ch.New),
			Manual("keep the original member order"))
	case change.MemberCond:
		h(StructLayout, fmt.Sprintf("the #if condition of member %s changes (%s -> %s)", ch.Member, ch.Old, ch.New),
			Manual("keep the member's condition unchanged"))
	case change.StructRemoved:
		h(StructLayout, "a struct definition is removed", Manual("keep the definition"))
	case change.StructAdded:
		if hdr {
			auto(HeaderDecl, "new struct definition in a header", "move the new definition into the .c files that use it")
		}
	case change.FuncChanged, change.FuncAdded, change.FuncRemoved:
		f := ch.PostFunc
		if f == nil {
			f = ch.PreFunc
		}
		if hdr && f.IsInline() {
			what := map[change.Kind]string{change.FuncChanged: "changed", change.FuncAdded: "new", change.FuncRemoved: "removed"}[ch.Kind]
			h(HeaderInline, fmt.Sprintf("%s inline function in a header: it is compiled into every function that uses it, in every object that includes the header", what),
				Manual("move the new definition into the .c files that use it and patch those callers"))
			break
		}
		if hdr && ch.Kind != change.FuncRemoved {
			h(HeaderOther, "function defined in a header without inline: every includer gets its own copy", Manual("move the definition into one .c file"))
			break
		}
		if ch.Kind == change.FuncRemoved {
			h(Unclassified, "a function is removed: old code that still calls it keeps calling the original", "none")
			break
		}
		if attr := firstAttr(f, initAttrs); attr != "" {
			h(InitCode, fmt.Sprintf("%s code already ran (or runs only at unload); a livepatch does not re-run it", attr),
				Manual("emulate its effect in a pre- or post-patch callback (KLP_POST_PATCH_CALLBACK / KPATCH_POST_PATCH_CALLBACK)"))
		}
		if f.Has("notrace") || f.Has("noinstr") {
			h(Notrace, "the function is notrace/noinstr: ftrace cannot redirect it, so a livepatch cannot replace it",
				Manual("patch its callers instead"))
		}
		if ch.Kind == change.FuncChanged && syscallWithArgs.MatchString(f.Macro) {
			// SYSCALL_DEFINE0 keeps its body in a plain static __do_sys_NAME, which a builder patches like any function
			auto(Syscall, fmt.Sprintf("%s puts the body into an inline (so notrace) __do_sys function the builder cannot patch, next to static syscall metadata", f.Macro),
				"define the system call with the builder's replacement macro (KLP_"+f.Macro+" or KPATCH_"+f.Macro+")")
		}
		if ch.Kind == change.FuncChanged && ch.PreFunc != nil && !fc.IsHeader && protoOf(fc.Pre, ch.PreFunc) != protoOf(fc.Post, ch.PostFunc) {
			if !ch.PostFunc.Has("static") {
				auto(Prototype, "the prototype of a non-static function changes: callers in other objects still use the old one",
					"give the new version a new name and patch every caller, or keep the prototype")
			} else if line := storedAt(fc.Pre, ch.PreFunc.Name); line > 0 && storedAt(fc.Post, ch.PostFunc.Name) == 0 {
				// where the fix still stores the address, the pointer's
				// type changes with the prototype (incompatible pointer
				// types are errors in kernel builds): its callers change
				// in the patch too, a retyped member's hazard if it is one
				auto(Prototype, fmt.Sprintf("the prototype of a static function whose address the running kernel's code takes (line %d) changes: what holds that address (a timer, a callback, an ops table) calls the replacement with the old arguments", line),
					"give the new version a new name and patch every caller, or keep the prototype")
			}
		}
	case change.StaticLocalAdded:
		h(StaticLocal, "new static local: it is new data in the livepatch module and starts at its initializer, not at the state the original had",
			Manual("make sure the starting value is right for a running system (or use a shadow variable on the owning object)"))
	case change.StaticLocalRemoved:
		h(StaticLocal, "removed static local: the builder can no longer correlate the function's data with the original",
			Manual("keep a reference to the static local in the new function (kpatch guide: keep the variable)"))
	case change.StaticLocalChanged:
		h(StaticLocal, staticChangedReason(ch), staticChangedAction(ch))
	case change.MacroChanged, change.MacroAdded, change.MacroRemoved:
		if hdr {
			reason := fmt.Sprintf("macro %s in a header: %s", ch.Name, strings.TrimPrefix(string(ch.Kind), "macro "))
			if ch.Kind == change.MacroRemoved {
				h(HeaderMacro, reason, Manual("keep the macro in the header; stop using it in the .c files"))
				break
			}
			auto(HeaderMacro, reason, "move the macro into the .c files that use it, under a new name if it changes")
			break
		}
		// a macro of a .c file used only in function bodies changes only
		// the functions, which the livepatch replaces; one that sizes or
		// initializes the file's structs or data changes what the running
		// kernel holds
		if reason, action, keys := sourceMacro(fc, ch); reason != "" {
			h(SourceMacro, reason, action)
			out[len(out)-1].Reaches = keys
		}
	case change.DeclChanged, change.DeclAdded, change.DeclRemoved:
		if hdr {
			reason := fmt.Sprintf("%s in a header", ch.Kind)
			if ch.Kind == change.DeclChanged {
				h(HeaderDecl, reason, Manual("a changed prototype in a header changes every caller: keep it, or add a new function with a new name"))
				break
			}
			auto(HeaderDecl, reason, "move the declaration into the .c files that use it")
		}
	case change.VarAdded:
		if ch.PostVar != nil && ch.PostVar.Extern {
			if hdr {
				auto(HeaderDecl, "new extern declaration in a header", "move the declaration into the .c files that use it")
			}
			break
		}
		if hdr {
			h(HeaderOther, "new variable defined in a header", Manual("define it in one .c file"))
			break
		}
		h(NewData, "new global data lives in the livepatch module: it starts at its initializer when the livepatch loads and is not shared with the original object", "none")
	case change.VarRemoved:
		h(DataInit, "a global variable is removed: the original object keeps it", "none")
	case change.VarInitChanged, change.VarTypeChanged:
		v := ch.PostVar
		reason := fmt.Sprintf("the initializer of %s changes; existing data was initialized long ago and a livepatch does not touch it", ch.Name)
		if ch.Kind == change.VarTypeChanged {
			reason = fmt.Sprintf("the type of %s changes (%s -> %s): its layout in the running kernel stays the old one", ch.Name, ch.Old, ch.New)
		}
		if v != nil && firstAttr(&ast.Func{Attrs: v.Attrs}, initData) != "" {
			h(InitCode, "init data ("+firstAttr(&ast.Func{Attrs: v.Attrs}, initData)+") was freed after boot", Manual("emulate the change in a callback"))
			break
		}
		if v != nil && readOnly(v) && ch.Kind == change.VarInitChanged {
			// const data is read-only in the running kernel (.rodata, a
			// module's RO after init): no callback writes it
			h(DataInit, reason+"; "+ch.Name+" is const, read-only in the running kernel",
				Manual(fmt.Sprintf("give the new value a new name in the livepatch (a copy of %s with upstream's initializer) and make the patched functions use it; where the running kernel hands %s out (stored in objects, registered), repoint those holders in a post-patch callback and back in a pre-unpatch callback, or leave this part of the change out", ch.Name, ch.Name)))
			break
		}
		h(DataInit, reason, Manual("apply the new value in a post-patch callback (and restore it in a pre-unpatch callback)"))
	case change.IncludeAdded:
		if !hdr {
			h(NewInclude, fmt.Sprintf("new #include <%s>: harmless by itself, but inline code and static data it brings in become part of the patched functions", ch.Name), "none")
		} else {
			auto(HeaderOther, fmt.Sprintf("new #include <%s> in a header reaches every includer", ch.Name), "add the #include to the patched .c files that need it instead")
		}
	case change.IncludeRemoved:
		if hdr {
			// what the include brought in leaves every includer: its code
			// may change or stop compiling (a .c file's removed include
			// is the compiler's to judge)
			h(HeaderOther, fmt.Sprintf("#include <%s> removed from a header: every includer loses what it brought in", ch.Name), Manual("keep the #include in the header"))
		}
	case change.CallAdded, change.CallRemoved:
		switch {
		case exportRE.MatchString(ch.Name):
			h(Export, fmt.Sprintf("%s: a livepatch module cannot add or remove exports of the patched object", ch.Subject),
				Manual("drop the export change; callers in other objects must be patched to reach the function another way (kallsyms lookup or klp relocation)"))
		case fc.IsHeader && cleanupMacros[ch.Name] && ch.Kind == change.CallAdded && !redefines(fc, ch):
			// cleanup.h's generators define only types and static inline
			// helpers: no object's code changes until a function uses them
			h(HeaderOther, fmt.Sprintf("%s in a header defines scope-based cleanup helpers (static inline): only the functions that use them change, and those are in the patch (the compiler finds any other)", ch.Subject), "none")
		case fc.IsHeader && cleanupMacros[ch.Name] && ch.Kind == change.CallAdded:
			h(HeaderOther, fmt.Sprintf("%s in a header changes a scope-based cleanup helper: every function that uses it changes", ch.Subject),
				Manual("give the new helper a new name (DEFINE_FREE(NAME_v2, ...)) and use it in the patched functions, keeping the old one"))
		case dataMacroRE.MatchString(ch.Name) && ch.Kind == change.CallAdded:
			h(NewData, fmt.Sprintf("%s defines new data in the livepatch module", ch.Subject), "none")
		case strings.HasSuffix(ch.Name, "initcall") || ch.Name == "module_init" || ch.Name == "module_exit" || ch.Name == "__setup" || ch.Name == "early_param":
			h(InitCode, fmt.Sprintf("%s runs only at boot or module load", ch.Subject), Manual("emulate it in a post-patch callback"))
		case fc.IsHeader:
			h(HeaderOther, fmt.Sprintf("%s in a header", ch.Subject), Manual("move it to a .c file"))
		}
	case change.EnumAdded:
		// a new enum type: its constants are compile-time values that no
		// code of the running kernel can know, and it has no storage; but
		// its lines in a header move every later line (__LINE__ in the
		// header's inlines, in every includer)
		if hdr {
			auto(HeaderDecl, fmt.Sprintf("%s: a new enum in a header; no code of the running kernel uses its constants, but the header's later lines move", ch.Subject), "move the new definition into the .c files that use it")
		}
	case change.EnumRemoved:
		if hdr {
			// its constants and its type leave every includer; code that
			// compiles upstream no longer names them
			h(HeaderEnum, fmt.Sprintf("%s removed from a header", ch.Subject), Manual("keep the enum in the header"))
		}
	case change.EnumChanged:
		if hdr {
			auto(HeaderEnum, fmt.Sprintf("%s: %s (old code keeps the old values; values used in data or by other objects must not move)", ch.Subject, ch.Kind),
				"append new values only, and check every object that uses them")
			break
		}
		// an enum of a .c file encodes state just as one in a header:
		// objects that exist when the livepatch loads hold the old values
		// as numbers, and the functions of the file the livepatch does not
		// replace keep comparing against them
		auto(SourceEnum, fmt.Sprintf("%s of this file: %s (objects that exist when the livepatch loads hold its old values as numbers, and old code keeps them; a constant whose value moves means something else to both)", ch.Subject, ch.Kind),
			"append new values only (the old constants keep their values), and decide what state objects holding the old values are in")
	case change.Unclassified:
		if hdr {
			h(HeaderOther, "a header change kprewrite could not tie to a definition", Manual("review this hunk"))
		} else {
			h(Unclassified, "a change kprewrite could not tie to a function or definition", Manual("review this hunk"))
		}
	}
	return out
}

// freshStatic reports whether both builders give a changed static local a
// fresh copy.
func freshStatic(ch *change.Change) bool {
	return change.FreshStatic(ch.Name, "", "") || strings.Contains(ch.New, ".data..once") || strings.Contains(ch.New, ".data.once")
}

// builderNames are the builders' names in messages.
var builderNames = map[string]string{"kpatch": "kpatch-build", "klp": "klp-build"}

func staticChangedReason(ch *change.Change) string {
	what := fmt.Sprintf("static local %s changes its declaration (%s -> %s)", ch.Name, ch.Old, ch.New)
	if freshStatic(ch) {
		return what + ": both builders give it a fresh copy in the livepatch module (kpatch-build's special statics, klp-build's uncorrelated statics, and anything in .data..once), so the new declaration takes effect; its state restarts at the new initializer when the livepatch loads"
	}
	why := "kpatch-build and klp-build pair a function's static locals with the running kernel's copies by name, so the patched function uses the old copy: the new initializer, type or size never takes effect, and code written for a larger size overruns it. " +
		"kpatch-build refuses a changed .data/.bss section (\"data section ... selected for inclusion\") and klp-build changed data it sees (\"changed data: " + ch.Name + ".N\"); what a builder lets through keeps the old copy"
	if one := change.FreshStaticOneBuilder(ch.Name); one != "" {
		other := map[string]string{"kpatch": "klp", "klp": "kpatch"}[one]
		why = fmt.Sprintf("%s gives %s a fresh copy, but %s pairs it with the running kernel's: there the new initializer, type or size never takes effect, and code written for a larger size overruns the old copy", builderNames[one], ch.Name, builderNames[other])
	}
	return what + ": " + why
}

func staticChangedAction(ch *change.Change) string {
	if freshStatic(ch) {
		return "none"
	}
	return Manual("give it a new name (a new static gets a fresh copy with the new initializer in the livepatch module; its state restarts), or keep the old declaration")
}

func firstAttr(f *ast.Func, attrs []string) string {
	for _, a := range attrs {
		if f.Has(a) {
			return a
		}
	}
	return ""
}

// protoOf returns the normalised text of a function's header.
func protoOf(f *ast.File, fn *ast.Func) string { return f.Normalized(fn.Header) }

// storedAt returns the line of the first reference to the function name
// in f that is no call (dev->timer.function = name, { .open = name }),
// or 0: code may keep that address in live data.
func storedAt(f *ast.File, name string) int {
	if lines := AddressRefs(f, name); len(lines) > 0 {
		return lines[0]
	}
	return 0
}

// AddressRefs returns the lines of every reference to the function name in
// f that is no call, definition or declaration, and no member or tag of
// the same name: each takes the function's address, which code may keep
// in live data.
func AddressRefs(f *ast.File, name string) []int {
	var out []int
	toks := f.CodeTokens(ast.Span{Off: 0, End: len(f.Src)})
	for i, t := range toks {
		if t.Kind != ast.Ident || t.Text != name {
			continue
		}
		if i > 0 && (toks[i-1].Text == "." || toks[i-1].Text == "->") {
			continue // a member of the same name
		}
		if i > 0 && (toks[i-1].Text == "struct" || toks[i-1].Text == "union" || toks[i-1].Text == "enum") {
			continue // a tag of the same name
		}
		if i+1 < len(toks) && toks[i+1].Text == "(" {
			continue // a call, the definition or a declaration
		}
		out = append(out, f.Line(t.Off))
	}
	return out
}

// scanBody looks inside a changed function for constructs that need care.
func scanBody(fc *change.File, ch *change.Change) []*Hazard {
	var out []*Hazard
	seen := map[string]bool{}
	fn := ch.PostFunc
	for _, t := range fc.Post.CodeTokens(fn.Body) {
		if t.Kind != ast.Ident || seen[t.Text] {
			continue
		}
		switch {
		case onceRE.MatchString(t.Text):
			seen[t.Text] = true
			out = append(out, &Hazard{Line: fc.Post.Line(t.Off), Kind: PrintOnce, Subject: fn.Name + ": " + t.Text,
				Reason: t.Text + " keeps a hidden static flag in .data..once; both builders give the replacement function a fresh one (kpatch-build never correlates these \"special statics\" and allows .data..once in the patch module; klp-build copies .data..once statics), so a message that already appeared before the load can appear once more, as it could once after a reboot into an upstream-built kernel",
				Action: "none"})
		case staticKeyRE.MatchString(t.Text):
			seen[t.Text] = true
			out = append(out, &Hazard{Line: fc.Post.Line(t.Off), Kind: StaticKey, Subject: fn.Name + ": " + t.Text,
				Reason: t.Text + " makes a jump label or static call site in a replaced function: both builders accept it only when its key lives in vmlinux or in the livepatch module itself (a module's key is resolved after the livepatch's jump labels are set up)",
				Action: staticKeyAction})
		}
	}
	// a static function of the file that the replaced function calls is
	// often inlined into it, and brings its sites along
	for _, callee := range StaticCallees(fc, fn) {
		for _, t := range fc.Post.CodeTokens(callee.Body) {
			if t.Kind != ast.Ident || !staticKeyRE.MatchString(t.Text) || seen[callee.Name+" "+t.Text] {
				continue
			}
			seen[callee.Name+" "+t.Text] = true
			out = append(out, &Hazard{Line: fc.Post.Line(t.Off), Kind: StaticKey, Subject: fn.Name + ": " + callee.Name + ": " + t.Text,
				Reason:  fmt.Sprintf("%s makes a jump label or static call site in %s, a static function that %s calls: gcc may inline it into the replaced function, site and all (both builders accept a site only when its key lives in vmlinux or in the livepatch module itself)", t.Text, callee.Name, fn.Name),
				Action:  staticKeyAction,
				Reaches: []string{"func " + callee.Name}})
		}
	}
	return out
}

// readOnly reports whether a variable's own storage is const: "const
// struct x t[]" and "char *const p" are, "const char *names[]" (an array
// of pointers to const) is not.
func readOnly(v *ast.Var) bool {
	if !v.Const {
		return false
	}
	star := strings.LastIndex(v.Type, "*")
	return star < 0 || strings.TrimSpace(v.Type[star+1:]) == "const"
}

// staticKeyAction is what the engineer does with a jump label or static
// call site no transform takes.
var staticKeyAction = Manual("where the key lives in a module, read it with static_key_enabled() (a static call: call it through STATIC_CALL_KEY(name).func)")

// StaticCallees returns the static functions of the file that fn calls,
// directly or through another of them (two levels), that the patch does
// not change itself (those are scanned as replaced functions): gcc may
// inline them into fn.
func StaticCallees(fc *change.File, fn *ast.Func) []*ast.Func {
	changed := map[string]bool{}
	for _, ch := range fc.Changes {
		if ch.PostFunc != nil && (ch.Kind == change.FuncChanged || ch.Kind == change.FuncAdded) {
			changed[ch.PostFunc.Name] = true
		}
	}
	return StaticCalleesIn(fc.Post, fn, changed)
}

// StaticCalleesIn returns the static functions of f that fn calls, two
// calls down, but those named in skip: gcc may inline them, with what
// they hold, into fn.
func StaticCalleesIn(f *ast.File, fn *ast.Func, skip map[string]bool) []*ast.Func {
	seen := map[string]bool{fn.Name: true}
	for n := range skip {
		seen[n] = true
	}
	var out []*ast.Func
	level := []*ast.Func{fn}
	for depth := 0; depth < 2; depth++ {
		var next []*ast.Func
		for _, g := range level {
			toks := f.CodeTokens(g.Body)
			for i, t := range toks {
				if t.Kind != ast.Ident || i+1 >= len(toks) || !toks[i+1].Is("(") || seen[t.Text] {
					continue
				}
				seen[t.Text] = true
				defs := f.Definitions(t.Text)
				if len(defs) != 1 || !defs[0].Has("static") {
					continue
				}
				out = append(out, defs[0])
				next = append(next, defs[0])
			}
		}
		level = next
	}
	return out
}

// datum is a struct, union or piece of file-scope data of a file: what the
// running kernel holds, laid out and initialized when the object loaded.
type datum struct {
	key, desc string
	layout    bool     // a struct or union definition
	via       []string // the names of the macro's family it mentions
	off       int
}

// sourceMacro says why a macro a patch changes in a .c file changes more
// than the functions that use it, and what the engineer does: the file's
// structs, unions and file-scope data (an array size, an initializer, a
// static local) that use it, directly or through other macros, enum
// constants or typedefs of the file, before and after the patch. Its
// reason is "" when only function bodies use it: those are recompiled and
// replaced.
func sourceMacro(fc *change.File, ch *change.Change) (reason, action string, keys []string) {
	if fc.Pre == nil || fc.Post == nil {
		return "", "", nil
	}
	names := family(fc.Pre, ch.Name)
	for n := range family(fc.Post, ch.Name) {
		names[n] = true
	}
	before := map[string]bool{}
	for _, d := range fileData(fc.Pre, names) {
		before[d.key] = true
	}
	var uses []datum
	structName := ""
	var via []string
	for _, d := range fileData(fc.Post, names) {
		if !before[d.key] {
			continue // new in the patch: nothing of the running kernel has it
		}
		uses = append(uses, d)
		if d.layout && structName == "" {
			structName = d.desc
		}
		for _, n := range d.via {
			if n != ch.Name && !slices.Contains(via, n) {
				via = append(via, n)
			}
		}
	}
	if len(uses) == 0 {
		return "", "", nil
	}
	for _, d := range uses {
		keys = append(keys, d.key)
	}
	var what string
	switch ch.Kind {
	case change.MacroAdded:
		what = fmt.Sprintf("macro %s is now defined in this file (%q)", ch.Name, ch.New)
	case change.MacroRemoved:
		what = fmt.Sprintf("macro %s is no longer defined in this file (it was %q)", ch.Name, ch.Old)
	default:
		what = fmt.Sprintf("macro %s of this file changes (%q -> %q)", ch.Name, ch.Old, ch.New)
	}
	var descs []string
	for i, d := range uses {
		if i == 4 {
			descs = append(descs, fmt.Sprintf("%d more", len(uses)-4))
			break
		}
		descs = append(descs, d.desc)
	}
	through := ""
	if len(via) > 0 {
		through = " (through " + strings.Join(via, ", ") + ")"
	}
	reason = fmt.Sprintf("%s, and %s of this file use%s it%s: objects and data that exist when the livepatch loads were laid out and initialized with the old definition, while the replaced functions would be compiled with the new one",
		what, strings.Join(descs, ", "), map[bool]string{true: "", false: "s"}[len(uses) > 1], through)
	if structName != "" {
		reason += fmt.Sprintf(" (the size and layout of %s may change)", structName)
		return reason, Manual(fmt.Sprintf("keep the old value of %s for the struct and data that use it and give the new value a new name for the patched functions, or treat it as the change of %s it is (a struct layout change)", ch.Name, structName)), keys
	}
	return reason, Manual(fmt.Sprintf("keep the old value of %s for the data that use it and give the new value a new name for the patched functions, or treat it as the data change it is (apply the new value in a post-patch callback)", ch.Name)), keys
}

// family is name and the names of a file defined through it: its macros,
// enum constants and typedefs that mention it, directly or through one
// another.
func family(f *ast.File, name string) map[string]bool {
	set := map[string]bool{name: true}
	for grew := true; grew; {
		grew = false
		add := func(n string) {
			if n != "" && !set[n] {
				set[n], grew = true, true
			}
		}
		for _, m := range f.Macros {
			if !m.Undef && m.Name != f.Guard && len(hits(ast.Tokenize([]byte(m.Body)), set)) > 0 {
				add(m.Name)
			}
		}
		for _, e := range f.Enums {
			from := false // the value counts from one that mentions the set
			for _, v := range e.Values {
				if v.Value != "" {
					from = len(hits(ast.Tokenize([]byte(v.Value)), set)) > 0
				}
				if from {
					add(v.Name)
				}
			}
		}
		for _, d := range f.Decls {
			if d.Kind == ast.Typedef && len(hits(ast.Tokenize([]byte(d.Text)), set)) > 0 {
				add(d.Name)
			}
		}
	}
	return set
}

// hits returns the names of names that tokens mention: identifiers, and
// identifiers in #if conditions (around members); a #define in a struct's
// body defines, it does not use.
func hits(tokens []ast.Token, names map[string]bool) []string {
	var out []string
	for _, t := range tokens {
		var ids []ast.Token
		switch t.Kind {
		case ast.Ident:
			ids = []ast.Token{t}
		case ast.Directive:
			switch d, rest := ast.DirectiveName(t); d {
			case "if", "ifdef", "ifndef", "elif", "elifdef", "elifndef":
				ids = ast.Tokenize([]byte(rest))
			}
		}
		for _, x := range ids {
			if x.Kind == ast.Ident && names[x.Text] && !slices.Contains(out, x.Text) {
				out = append(out, x.Text)
			}
		}
	}
	return out
}

// spanTokens returns the tokens of f within s, directives included.
func spanTokens(f *ast.File, s ast.Span) []ast.Token {
	i := sort.Search(len(f.Tokens), func(i int) bool { return f.Tokens[i].Off >= s.Off })
	var out []ast.Token
	for ; i < len(f.Tokens) && f.Tokens[i].End <= s.End; i++ {
		out = append(out, f.Tokens[i])
	}
	return out
}

// condHits is hits for the #if condition around a definition.
func condHits(c ast.Cond, names map[string]bool) []string {
	return hits(ast.Tokenize([]byte(c.String())), names)
}

// fileData returns the structs, unions and file-scope data of f (its
// globals, static locals and data-defining macro calls) that mention one
// of names, in the order of the file.
func fileData(f *ast.File, names map[string]bool) []datum {
	var out []datum
	add := func(key, desc string, layout bool, span ast.Span, cond ast.Cond) {
		via := hits(spanTokens(f, span), names)
		for _, n := range condHits(cond, names) {
			if !slices.Contains(via, n) {
				via = append(via, n)
			}
		}
		if len(via) > 0 {
			out = append(out, datum{key: key, desc: desc, layout: layout, via: via, off: span.Off})
		}
	}
	for _, s := range f.Structs {
		if s.Parent == nil && s.Name != "" {
			add(s.Kind+" "+s.Name, s.Kind+" "+s.Name, true, s.Span, s.Cond)
		}
	}
	for _, v := range f.Vars {
		if v.Extern || v.Func != nil || firstAttr(&ast.Func{Attrs: v.Attrs}, initData) != "" {
			continue
		}
		add("var "+v.Name, v.Name, false, v.Span, v.Cond)
	}
	for _, fn := range f.Funcs {
		for _, v := range fn.StaticLocals {
			add("static "+fn.Name+"::"+v.Name, "static local "+fn.Name+"::"+v.Name, false, v.Span, nil)
		}
	}
	for _, c := range f.Calls {
		if strings.HasPrefix(c.Name, "MODULE_") || exportRE.MatchString(c.Name) {
			continue // module information and exports hold no data of the running kernel's
		}
		first := ""
		if len(c.Args) > 0 {
			first = strings.TrimSpace(c.Args[0])
		}
		add("call "+c.Name+"("+first, c.Name+"("+first+", ...)", false, c.Span, c.Cond)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].off < out[j].off })
	return out
}
