package kbuild

import (
	"fmt"
	"path"
	"regexp"
	"strings"

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
		m.eval(dm, string(data), d)
		if d != "" || name == "Makefile" {
			break
		}
		// At the top, Kbuild (6.1+) and the Makefile (older kernels) both
		// list directories; read both.
	}
	return dm
}

var (
	assignRE = regexp.MustCompile(`^([A-Za-z0-9_.\-$(){}/]+)\s*(:=|\+=|\?=|=)\s*(.*)$`)
	varRefRE = regexp.MustCompile(`\$[({]([^(){}$]+)[)}]`)
)

// eval interprets the subset of make that kbuild Makefiles use to list
// objects: assignments, $(VAR) references and ifeq/ifdef conditionals.
func (m *Makefiles) eval(dm *dirMake, text, dir string) {
	text = strings.ReplaceAll(text, "\\\n", " ")
	vars := dm.vars
	builtin := map[string]string{
		"SRCARCH": m.SrcArch(), "ARCH": m.SrcArch(), "srctree": ".", "src": dir, "obj": dir,
	}
	expand := func(s string) string {
		for i := 0; i < 8 && strings.Contains(s, "$"); i++ {
			s = varRefRE.ReplaceAllStringFunc(s, func(ref string) string {
				name := ref[2 : len(ref)-1]
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
				if strings.Contains(name, " ") {
					return "" // make functions are not evaluated
				}
				return strings.Join(vars[name], " ")
			})
		}
		return s
	}
	type cond struct{ active, parentActive, taken bool }
	stack := []cond{}
	active := func() bool {
		return len(stack) == 0 || stack[len(stack)-1].active
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
			stack = append(stack, cond{active: pa && truth, parentActive: pa, taken: truth})
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
		if !active() {
			continue
		}
		am := assignRE.FindStringSubmatch(line)
		if am == nil {
			continue
		}
		name := expand(am[1])
		val := strings.Fields(expand(am[3]))
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
// linked into, from the Makefiles and the config.
func (m *Makefiles) ObjectOf(rel string) Object {
	dir, file := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	ext := path.Ext(file)
	if ext != ".c" && ext != ".S" {
		return Object{Kind: UnknownObject, Why: "not a source file"}
	}
	obj := strings.TrimSuffix(file, ext) + ".o"
	dm := m.dir(dir)
	if !dm.found {
		return Object{Kind: UnknownObject, Why: fmt.Sprintf("no Makefile or Kbuild in %s/", dir)}
	}
	how := m.listed(dir, obj)
	unit := obj
	if how == "" {
		// part of a composite object: foo-y / foo-objs / foo-m lists
		for name, list := range dm.vars {
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
			for _, e := range list {
				if e == obj {
					if h := m.listed(dir, base+".o"); h != "" {
						how, unit = h, base+".o"
					}
				}
			}
		}
	}
	if how == "" {
		for _, e := range dm.vars["lib-y"] {
			if e == obj {
				how = "y"
			}
		}
	}
	if m.cfg == nil {
		if how == "" {
			return Object{Kind: UnknownObject, Why: "no .config: cannot tell whether it is built"}
		}
		how = "?"
	}
	switch how {
	case "":
		return Object{Kind: NotBuilt, Why: fmt.Sprintf("%s is not selected in %s under this config", obj, dm.file)}
	case "?":
		return Object{Kind: UnknownObject, Why: "no .config: cannot tell vmlinux from module"}
	}
	// The directory must be reached from the top.
	dirHow, why := m.dirBuilt(dir)
	if dirHow == "" {
		return Object{Kind: NotBuilt, Why: why}
	}
	if how == "m" || dirHow == "m" {
		name := strings.TrimSuffix(unit, ".o")
		p := name
		if dir != "" {
			p = dir + "/" + name
		}
		return Object{Kind: Module, Module: strings.ReplaceAll(name, "-", "_"), Path: p, Why: "obj-m in " + dm.file}
	}
	return Object{Kind: Vmlinux, Why: "obj-y in " + dm.file}
}

// dirBuilt reports how a directory is descended into: "y", "m" or "".
func (m *Makefiles) dirBuilt(dir string) (string, string) {
	if dir == "" {
		return "y", ""
	}
	parent, base := path.Split(dir)
	parent = strings.TrimSuffix(parent, "/")
	how := ""
	// A directory may be listed by its parent or, with a path, by any ancestor.
	for anc, rel := parent, base+"/"; ; {
		if h := m.listed(anc, rel); h != "" {
			how = h
			parent = anc
			break
		}
		if anc == "" {
			break
		}
		a, b := path.Split(anc)
		rel = b + "/" + rel
		anc = strings.TrimSuffix(a, "/")
	}
	if how == "" {
		return "", fmt.Sprintf("%s/ is not descended into under this config", dir)
	}
	ph, why := m.dirBuilt(parent)
	if ph == "" {
		return "", why
	}
	if ph == "m" || how == "m" {
		return "m", ""
	}
	return "y", ""
}
