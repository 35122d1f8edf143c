package kbuild

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kprewrite/kprewrite/tree"
)

// ObjectKind says where a source file's code ends up.
type ObjectKind string

// Object kinds.
const (
	Vmlinux       ObjectKind = "vmlinux"
	Module        ObjectKind = "module"
	NotBuilt      ObjectKind = "not built"
	UnknownObject ObjectKind = "unknown"
)

// Object is the binary a source file is linked into.
type Object struct {
	Kind   ObjectKind
	Module string // module name ("bonding"), for Kind == Module
	Path   string // module path without .ko ("drivers/net/bonding/bonding"), for Kind == Module
	Why    string // how it was decided, or why it is unknown
	// Target is the path kbuild builds the object as when another
	// directory's Makefile lists it ("drivers/gpu/drm/amd/amdgpu/../display/dc/bios/bios_parser.o":
	// it compiles with amdgpu's flags); "" for the plain path.
	Target string
	// Unit is the object the file is linked as, as its Makefile lists it:
	// itself ("bond_main.o") or the composite object that lists it
	// ("bonding.o"); kbuild's KBUILD_MODNAME is its name. Empty when not
	// built or unknown.
	Unit string
	// ListDir is the directory whose Makefile lists it (an ancestor for
	// "lag/lag.o" in mlx5/core/Makefile, amdgpu/ for ../display/...).
	ListDir string
	// IncludedIn is the .c file that #includes this one when no Makefile
	// lists it (kernel/sched/build_policy.c includes rt.c and deadline.c):
	// its code is built as part of that file's object, which the other
	// fields describe; it is compiled as that file (Env.Unit).
	IncludedIn string
	// AlsoIn are the other .c files the config builds that #include it
	// (drivers/net/wan/hd64572.c in pc300too.c and pci200syn.c), each
	// with macros of its own before the #include.
	AlsoIn []string
}

// Name is the short name used in reports: "vmlinux", "bonding", "not built", "unknown".
func (o Object) Name() string {
	if o.Kind == Module {
		return o.Module
	}
	return string(o.Kind)
}

// Makefiles evaluates the kbuild Makefiles of a tree under a config, enough
// to answer which object a source file builds into.
type Makefiles struct {
	fs   tree.FS
	cfg  *Config
	mu   sync.Mutex // guards dirs: compiles ask ObjectOf concurrently
	dirs map[string]*dirMake
}

// NewMakefiles returns an evaluator for the tree; cfg may be nil.
func NewMakefiles(fs tree.FS, cfg *Config) *Makefiles {
	return &Makefiles{fs: fs, cfg: cfg, dirs: map[string]*dirMake{}}
}

// dirMake is the evaluated content of one directory's Kbuild or Makefile.
type dirMake struct {
	found bool
	file  string
	vars  map[string][]string // obj-y, obj-m, foo-y, foo-objs, ...
	// uncertain is set when an object list uses a make construct the
	// evaluator does not know ($(call ...), $(shell ...), $(wildcard ...)):
	// a file missing from the lists may still be built.
	uncertain bool
	includes  int // Makefiles read through "include" (bounded)
	// texts are the Makefiles read for the directory (its own and those
	// it includes); unread is set when an include line names a file
	// kprewrite did not read, so the texts may miss a variable.
	texts  []string
	unread bool
}

// SrcArch returns the kernel's SRCARCH for the config (x86 when unsure).
func (m *Makefiles) SrcArch() string {
	if m.cfg != nil {
		switch {
		case m.cfg.Tristate("ARM64") == "y":
			return "arm64"
		case m.cfg.Tristate("ARM") == "y":
			return "arm"
		case m.cfg.Tristate("PPC") == "y":
			return "powerpc"
		case m.cfg.Tristate("S390") == "y":
			return "s390"
		case m.cfg.Tristate("RISCV") == "y":
			return "riscv"
		}
	}
	return "x86"
}

func (m *Makefiles) dir(d string) *dirMake {
	if dm, ok := m.dirs[d]; ok {
		return dm
	}
	dm := &dirMake{vars: map[string][]string{}}
	m.dirs[d] = dm
	for _, name := range []string{"Kbuild", "Makefile"} {
		p := path.Join(d, name)
		if d == "" {
			p = name
		}
		data, err := m.fs.ReadFile(p)
		if err != nil {
			continue
		}
		dm.found = true
		dm.file = p
		dm.texts = append(dm.texts, string(data))
		m.eval(dm, string(data), d)
		if d != "" || name == "Makefile" {
			break
		}
		// At the top, Kbuild (6.1+) and the Makefile (older kernels) both
		// list directories; read both.
	}
	return dm
}

var varRefRE = regexp.MustCompile(`\$[({]([^(){}$]+)[)}]`)

// splitAssign splits a make assignment into the variable (unexpanded), the
// operator and the value: [line, name, op, value] like a regexp match, or
// nil when the line is no assignment. The operator is the first one outside
// $(...): the name may hold references with spaces, commas and '='
// ("obj-$(subst m,y,$(CONFIG_IPV6)) += inet6_hashtables.o",
// "obj-$(CONFIG_IPV6:m=y) += ..."). A rule ("a.o: b.c") or a
// target-specific assignment ("$(obj)/a.o: CFLAGS += -x") is none.
func splitAssign(line string) []string {
	depth := 0
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '(', '{':
			depth++
		case ')', '}':
			depth--
		case ':', '+', '?', '=':
			if depth > 0 {
				continue
			}
			op := ""
			switch {
			case c == '=':
				op = "="
			case strings.HasPrefix(line[i:], "::="):
				op = "::="
			case i+1 < len(line) && line[i+1] == '=':
				op = line[i : i+2]
			case c == ':':
				return nil // a rule
			default:
				continue // '+' or '?' in a name
			}
			name := strings.TrimSpace(line[:i])
			if name == "" {
				return nil
			}
			if op == "::=" {
				op = ":="
				i++
			}
			return []string{line, name, op, strings.TrimSpace(line[i+len(op):])}
		case ' ', '\t':
			if depth == 0 {
				// "name op value": only blanks may follow before the operator
				rest := strings.TrimLeft(line[i:], " \t")
				if rest == "" || !strings.ContainsAny(rest[:1], ":+?=") {
					return nil
				}
			}
		}
	}
	return nil
}

// substRef evaluates a substitution reference's name "VAR:from=to"
// ($(CONFIG_IPV6:m=y), $(objs:.o=.c)) given the variable's value:
// ok is false when name is no substitution reference.
func substRef(name string, value func(string) string) (string, bool) {
	v, sub, ok := strings.Cut(name, ":")
	if !ok || strings.ContainsAny(v, " ,") {
		return "", false
	}
	from, to, ok := strings.Cut(sub, "=")
	if !ok {
		return "", false
	}
	if !strings.Contains(from, "%") {
		from, to = "%"+from, "%"+to
	}
	var out []string
	for _, w := range strings.Fields(value(v)) {
		out = append(out, patsubst(from, to, w))
	}
	return strings.Join(out, " "), true
}

// eval interprets the subset of make that kbuild Makefiles use to list
// objects: assignments, $(VAR) references and ifeq/ifdef conditionals.
func (m *Makefiles) eval(dm *dirMake, text, dir string) {
	text = strings.ReplaceAll(text, "\\\n", " ")
	vars := dm.vars
	builtin := map[string]string{
		"SRCARCH": m.SrcArch(), "ARCH": m.SrcArch(), "srctree": ".", "src": dir, "obj": dir,
	}
	unknown := false // set by expand when it meets a construct it cannot evaluate
	value := func(name string) string {
		if strings.HasPrefix(name, "CONFIG_") {
			if m.cfg == nil {
				return "?"
			}
			v, ok := m.cfg.Value(name)
			if !ok || v == "n" {
				return ""
			}
			return strings.Trim(v, `"`)
		}
		if v, ok := builtin[name]; ok {
			return v
		}
		return strings.Join(vars[name], " ")
	}
	expand := func(s string) string {
		for i := 0; i < 8 && strings.Contains(s, "$"); i++ {
			s = varRefRE.ReplaceAllStringFunc(s, func(ref string) string {
				name := ref[2 : len(ref)-1]
				if fn, args, ok := strings.Cut(name, " "); ok {
					v, known := makeFunc(fn, args)
					if !known {
						unknown = true
					}
					return v
				}
				if v, ok := substRef(name, value); ok {
					return v
				}
				return value(name)
			})
		}
		if strings.Contains(s, "$(") || strings.Contains(s, "${") {
			unknown = true
		}
		return s
	}
	// uncertain: the condition (or an enclosing one) uses a construct
	// expand cannot evaluate, so either branch may be the real one.
	type cond struct{ active, parentActive, taken, uncertain bool }
	stack := []cond{}
	active := func() bool {
		return len(stack) == 0 || stack[len(stack)-1].active
	}
	condUncertain := func() bool {
		return len(stack) > 0 && stack[len(stack)-1].uncertain
	}
	for _, raw := range strings.Split(text, "\n") {
		line := raw
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(raw, "\t") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch word {
		case "ifeq", "ifneq", "ifdef", "ifndef":
			pa := active()
			unknown = false
			var truth bool
			switch word {
			case "ifdef", "ifndef":
				v := strings.TrimSpace(expand("$(" + rest + ")"))
				truth = v != "" && v != "?"
				if word == "ifndef" {
					truth = !truth
				}
			default:
				a, b := splitIfeq(rest)
				truth = strings.TrimSpace(expand(a)) == strings.TrimSpace(expand(b))
				if word == "ifneq" {
					truth = !truth
				}
			}
			stack = append(stack, cond{active: pa && truth, parentActive: pa, taken: truth, uncertain: unknown || condUncertain()})
			continue
		case "else":
			if len(stack) > 0 {
				top := &stack[len(stack)-1]
				if strings.HasPrefix(rest, "if") {
					// "else ifeq ..." chains: treat as else plus a nested test
					w2, r2, _ := strings.Cut(rest, " ")
					a, b := splitIfeq(strings.TrimSpace(r2))
					t := strings.TrimSpace(expand(a)) == strings.TrimSpace(expand(b))
					if w2 == "ifneq" {
						t = !t
					}
					top.active = top.parentActive && !top.taken && t
					top.taken = top.taken || t
				} else {
					top.active = top.parentActive && !top.taken
					top.taken = true
				}
			}
			continue
		case "endif":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if word == "include" || word == "-include" || word == "sinclude" {
			// kbuild Makefiles include other directories' object lists
			// (amdgpu includes display/Makefile, which lists
			// ../display/dc/... objects built with amdgpu's flags)
			if active() {
				m.include(dm, expand(rest), dir)
			}
			continue
		}
		am := splitAssign(line)
		if am == nil {
			continue
		}
		if !active() {
			if condUncertain() && isObjectList(expand(am[1])) {
				dm.uncertain = true
			}
			continue
		}
		unknown = false
		name := expand(am[1])
		val := strings.Fields(expand(am[3]))
		if (unknown || condUncertain()) && isObjectList(name) {
			dm.uncertain = true
		}
		switch am[2] {
		case "+=":
			vars[name] = append(vars[name], val...)
		case "?=":
			if _, ok := vars[name]; !ok {
				vars[name] = val
			}
		default:
			vars[name] = val
		}
	}
}

// include evaluates the Makefiles an include line names, in dm's context
// (their $(src) is still dm's directory, as in make). kbuild's own
// scripts/ Makefiles define no object lists and are skipped.
func (m *Makefiles) include(dm *dirMake, names, dir string) {
	for _, w := range strings.Fields(names) {
		p := path.Clean(w)
		if strings.HasPrefix(p, "..") || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "scripts/") || dm.includes >= 64 {
			dm.unread = dm.unread || !strings.HasPrefix(p, "scripts/")
			continue
		}
		data, err := m.fs.ReadFile(p)
		if err != nil {
			dm.unread = true
			continue
		}
		dm.includes++
		dm.texts = append(dm.texts, string(data))
		m.eval(dm, string(data), dir)
	}
}

// foreign finds the Makefile that lists obj (the object of a source file
// in dir) by a path that leaves its own directory ("../display/dc/bios/bios_parser.o"
// in drivers/gpu/drm/amd/amdgpu): among the directories that dir's
// ancestors list as subdirectories. It returns how and as what unit that
// directory builds it, the directory, and the entry as written.
func (m *Makefiles) foreign(dir, obj string) (how, unit, listDir, entry string) {
	want := path.Join(dir, obj)
	anc := dir
	for i := 0; i < 5; i++ {
		if anc == "" {
			break
		}
		parent, _ := path.Split(anc)
		anc = strings.TrimSuffix(parent, "/")
		dm := m.dir(anc)
		if !dm.found {
			continue
		}
		var subs []string
		for _, list := range []string{"obj-y", "obj-m"} {
			for _, e := range dm.vars[list] {
				if strings.HasSuffix(e, "/") {
					subs = append(subs, path.Join(anc, e))
				}
			}
		}
		for _, sub := range subs {
			if sub == dir || strings.HasPrefix(dir, sub+"/") {
				continue // an ancestor: ObjectOf looked there
			}
			sd := m.dir(sub)
			names := make([]string, 0, len(sd.vars))
			for name := range sd.vars {
				names = append(names, name)
			}
			sortStrings(names)
			for _, name := range names {
				if !isObjectList(name) {
					continue
				}
				for _, e := range sd.vars[name] {
					if strings.Contains(e, "..") && path.Join(sub, e) == want {
						if h, u := m.lookup(sub, e); h != "" {
							return h, u, sub, e
						}
					}
				}
			}
		}
	}
	return "", "", "", ""
}

// isObjectList reports whether a make variable lists objects or
// directories kbuild builds (obj-y, obj-m, lib-y, foo-y, foo-objs, ...).
func isObjectList(name string) bool {
	if strings.HasPrefix(name, "ccflags") || strings.HasPrefix(name, "asflags") || strings.HasPrefix(name, "ldflags") ||
		strings.HasPrefix(name, "subdir-ccflags") || strings.HasPrefix(name, "CFLAGS") || strings.HasPrefix(name, "AFLAGS") ||
		strings.HasPrefix(name, "KBUILD_") || strings.Contains(strings.ToLower(name), "flags") {
		// the top Makefile's "KBUILD_CFLAGS-$(call gcc-min-version, 90100)
		// += ..." is flags, whatever its $(call) gives
		return false
	}
	for _, suf := range []string{"-y", "-m", "-objs", "-"} { // "obj-" is obj-$(CONFIG_X) with X unset
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// makeFunc evaluates the make functions kbuild Makefiles use in object
// lists; args have no nested references left. known is false for functions
// it does not evaluate.
func makeFunc(fn, args string) (v string, known bool) {
	a := strings.Split(args, ",")
	arg := func(i int) string {
		if i < len(a) {
			return a[i]
		}
		return ""
	}
	rest := func(i int) string { // the last argument keeps its commas
		if i < len(a) {
			return strings.Join(a[i:], ",")
		}
		return ""
	}
	words := func(s string) []string { return strings.Fields(s) }
	mapWords := func(s string, f func(string) string) string {
		var out []string
		for _, w := range words(s) {
			if r := f(w); r != "" {
				out = append(out, r)
			}
		}
		return strings.Join(out, " ")
	}
	switch fn {
	case "addprefix":
		p := strings.TrimSpace(arg(0))
		return mapWords(rest(1), func(w string) string { return p + w }), true
	case "addsuffix":
		x := strings.TrimSpace(arg(0))
		return mapWords(rest(1), func(w string) string { return w + x }), true
	case "patsubst":
		pat, repl := strings.TrimSpace(arg(0)), strings.TrimSpace(arg(1))
		return mapWords(rest(2), func(w string) string { return patsubst(pat, repl, w) }), true
	case "subst":
		return strings.ReplaceAll(rest(2), arg(0), arg(1)), true
	case "filter", "filter-out":
		pats := words(arg(0))
		return mapWords(rest(1), func(w string) string {
			match := false
			for _, p := range pats {
				if patsubst(p, "", w) != w || p == w {
					match = true
				}
			}
			if match == (fn == "filter") {
				return w
			}
			return ""
		}), true
	case "sort":
		ws := words(args)
		sortStrings(ws)
		var out []string
		for i, w := range ws {
			if i == 0 || w != ws[i-1] {
				out = append(out, w)
			}
		}
		return strings.Join(out, " "), true
	case "strip":
		return strings.Join(words(args), " "), true
	case "firstword":
		if ws := words(args); len(ws) > 0 {
			return ws[0], true
		}
		return "", true
	case "notdir":
		return mapWords(args, path.Base), true
	case "if":
		if strings.TrimSpace(arg(0)) != "" {
			return arg(1), true
		}
		return rest(2), true
	}
	return "", false
}

// patsubst applies one make pattern substitution to a word; a word that
// does not match is returned unchanged.
func patsubst(pat, repl, w string) string {
	pre, suf, wild := strings.Cut(pat, "%")
	if !wild {
		if w == pat {
			return repl
		}
		return w
	}
	if len(w) < len(pre)+len(suf) || !strings.HasPrefix(w, pre) || !strings.HasSuffix(w, suf) {
		return w
	}
	stem := w[len(pre) : len(w)-len(suf)]
	return strings.Replace(repl, "%", stem, 1)
}

func splitIfeq(s string) (string, string) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		inner := s[1 : len(s)-1]
		depth := 0
		for i, c := range inner {
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth == 0 {
					return inner[:i], inner[i+1:]
				}
			}
		}
		return inner, ""
	}
	f := strings.Fields(s)
	if len(f) == 2 {
		return strings.Trim(f[0], `"'`), strings.Trim(f[1], `"'`)
	}
	return s, ""
}

// listed returns "y", "m" or "" for how an entry appears in obj-y/obj-m of
// dir; "?" when it appears only under a symbol that has no value without a config.
func (m *Makefiles) listed(dir, entry string) string {
	dm := m.dir(dir)
	in := func(list string) bool {
		for _, e := range dm.vars[list] {
			if e == entry {
				return true
			}
		}
		return false
	}
	switch {
	case in("obj-y") || (dir == "" && (in("core-y") || in("drivers-y") || in("net-y") || in("libs-y") || in("virt-y") || in("init-y"))):
		return "y"
	case in("obj-m"):
		return "m"
	case in("obj-?"):
		return "?"
	}
	return ""
}

// ObjectOf returns the object the source file rel (a .c or .S file) is
// linked into, from the Makefiles and the config. The file is looked up in
// its directory's Makefile and then in its ancestors' (composite objects
// list members in subdirectories: "lag/lag.o" in mlx5/core/Makefile).
func (m *Makefiles) ObjectOf(rel string) Object {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objectOf(rel)
}

func (m *Makefiles) objectOf(rel string) Object {
	dir, file := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	ext := path.Ext(file)
	if ext != ".c" && ext != ".S" {
		return Object{Kind: UnknownObject, Why: "not a source file"}
	}
	obj := strings.TrimSuffix(file, ext) + ".o"
	var near *dirMake // the nearest Makefile, named when the file is not listed
	uncertain := false
	how, unit, listDir := "", "", dir
	for d, entry := dir, obj; ; {
		dm := m.dir(d)
		if dm.found {
			if near == nil {
				near = dm
			}
			uncertain = uncertain || dm.uncertain
			if h, u := m.lookup(d, entry); h != "" {
				how, unit, listDir, near = h, u, d, dm
				break
			}
		}
		if d == "" {
			break
		}
		parent, base := path.Split(d)
		entry = base + "/" + entry
		d = strings.TrimSuffix(parent, "/")
	}
	target := ""
	if how == "" && m.cfg != nil {
		if h, u, d, e := m.foreign(dir, obj); h != "" {
			how, unit, listDir, near, target = h, u, d, m.dir(d), path.Join(d, "")+"/"+e
		}
	}
	if near == nil {
		return Object{Kind: UnknownObject, Why: fmt.Sprintf("no Makefile or Kbuild in %s/ or above", dir)}
	}
	if m.cfg == nil {
		if how == "" {
			return Object{Kind: UnknownObject, Why: "no .config: cannot tell whether it is built"}
		}
		how = "?"
	}
	switch how {
	case "":
		if uncertain {
			return Object{Kind: UnknownObject, Why: fmt.Sprintf("%s is not in the object lists of %s, which use make constructs kprewrite does not evaluate", obj, near.file)}
		}
		return Object{Kind: NotBuilt, Why: fmt.Sprintf("%s is not selected in %s under this config", obj, near.file)}
	case "?":
		return Object{Kind: UnknownObject, Why: "no .config: cannot tell vmlinux from module"}
	}
	// The directory must be reached from the top.
	dirHow, why := m.dirBuilt(listDir)
	switch dirHow {
	case "":
		return Object{Kind: NotBuilt, Why: why}
	case "?":
		return Object{Kind: UnknownObject, Why: why}
	}
	if how == "m" || dirHow == "m" {
		name := strings.TrimSuffix(unit, ".o")
		p := name
		if listDir != "" {
			p = listDir + "/" + name
		}
		return Object{Kind: Module, Module: strings.ReplaceAll(path.Base(name), "-", "_"), Path: p, Why: "obj-m in " + near.file, Target: target, Unit: unit, ListDir: listDir}
	}
	return Object{Kind: Vmlinux, Why: "obj-y in " + near.file, Target: target, Unit: unit, ListDir: listDir}
}

// lookup returns how entry (an object, possibly with a subdirectory path)
// is built by dir's Makefile: "y", "m", "?" or "", and the unit it is
// linked as (itself, or the composite object that lists it).
func (m *Makefiles) lookup(dir, entry string) (how, unit string) {
	if h := m.listed(dir, entry); h != "" {
		return h, entry
	}
	dm := m.dir(dir)
	// part of a composite object: foo-y / foo-objs / foo-m lists
	names := make([]string, 0, len(dm.vars))
	for name := range dm.vars {
		names = append(names, name)
	}
	sortStrings(names) // deterministic when several composites list it
	for _, name := range names {
		base := ""
		for _, suf := range []string{"-objs", "-y", "-m"} {
			if strings.HasSuffix(name, suf) && !strings.HasPrefix(name, "obj-") && !strings.HasPrefix(name, "lib-") &&
				!strings.HasPrefix(name, "ccflags") && !strings.HasPrefix(name, "subdir") {
				base = strings.TrimSuffix(name, suf)
			}
		}
		if base == "" {
			continue
		}
		for _, e := range dm.vars[name] {
			if e == entry {
				if h := m.listed(dir, base+".o"); h != "" {
					return h, base + ".o"
				}
			}
		}
	}
	for _, e := range dm.vars["lib-y"] {
		if e == entry {
			return "y", entry
		}
	}
	return "", ""
}

// dirBuilt reports how a directory is descended into: "y", "m", "" (not
// under this config, with the reason) or "?" (the Makefiles that would list
// it use make constructs kprewrite does not evaluate).
func (m *Makefiles) dirBuilt(dir string) (string, string) {
	if dir == "" {
		return "y", ""
	}
	parent, base := path.Split(dir)
	parent = strings.TrimSuffix(parent, "/")
	how := ""
	uncertain := false
	// A directory may be listed by its parent or, with a path, by any ancestor.
	for anc, rel := parent, base+"/"; ; {
		if h := m.listed(anc, rel); h != "" {
			how = h
			parent = anc
			break
		}
		uncertain = uncertain || m.dir(anc).uncertain
		if anc == "" {
			break
		}
		a, b := path.Split(anc)
		rel = b + "/" + rel
		anc = strings.TrimSuffix(a, "/")
	}
	if how == "" {
		if uncertain {
			return "?", fmt.Sprintf("whether %s/ is descended into depends on make constructs kprewrite does not evaluate", dir)
		}
		return "", fmt.Sprintf("%s/ is not descended into under this config", dir)
	}
	ph, why := m.dirBuilt(parent)
	if ph == "" || ph == "?" {
		return ph, why
	}
	if ph == "m" || how == "m" {
		return "m", ""
	}
	return "y", ""
}

// Texts returns the text of the Makefiles kbuild reads for dir (its Kbuild
// or Makefile and the files they include), and whether that is all of
// them: false when an include line names a file kprewrite did not read.
func (m *Makefiles) Texts(dir string) ([]string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dm := m.dir(dir)
	return slices.Clone(dm.texts), dm.found && !dm.unread
}
