package kbuild

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// derivedArgs returns the compiler arguments of rel derived from a
// sibling's record (siblingCommand), derived once per run: every compile
// of the file asks for its command. nil when none can be derived (yet: a
// sibling recorded later may serve).
func (e *Env) derivedArgs(rel string) []string {
	e.mu.Lock()
	args := e.derived[rel]
	e.mu.Unlock()
	if args != nil {
		return args
	}
	if args = e.siblingCommand(rel); args == nil {
		return nil
	}
	e.mu.Lock()
	if e.derived == nil {
		e.derived = map[string][]string{}
	}
	e.derived[rel] = args
	e.mu.Unlock()
	return args
}

// siblingCommand derives the compiler arguments of the source file rel
// from the recorded command of another file of its directory, the way
// kbuild's rule for a .c file builds both: the same flags (the tree's
// KBUILD_CFLAGS, the directory's ccflags), and the file's own names where
// kbuild puts them (the dependency file, KBUILD_BASENAME, KBUILD_MODNAME
// and KBUILD_MODFILE when the file is a unit of its own, the output and
// the source). A make run per file learns the same thing at the cost of a
// walk of kbuild (tens of seconds on a prepared tree).
//
// It derives nothing (nil) unless kbuild's Makefiles leave no room for a
// difference: both files in the same Makefile's lists, into the same kind
// of object, neither with variables of its own (CFLAGS_file.o,
// CFLAGS_REMOVE_file.o, KASAN_SANITIZE_file.o ...) or rules of its own in
// the Makefiles read for the directory (all of them read), no pattern
// rule there, and every place the sibling's name appears in its command
// accounted for.
func (e *Env) siblingCommand(rel string) []string {
	if e.Make == nil || e.Config == nil || e.Plain || !strings.HasSuffix(rel, ".c") {
		return nil
	}
	dir := path.Dir(rel)
	ents, err := os.ReadDir(filepath.Join(e.objTree, filepath.FromSlash(dir)))
	if err != nil {
		return nil
	}
	var sibs []string
	for _, en := range ents {
		n := en.Name()
		if !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".o.cmd") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimPrefix(n, "."), ".o.cmd")
		if src := dir + "/" + base + ".c"; src != rel && e.Tree.Exists(src) {
			sibs = append(sibs, src)
		}
	}
	slices.Sort(sibs)
	for _, s := range sibs {
		cf, err := ReadCmdFile(cmdPath(e.objTree, strings.TrimSuffix(s, ".c")+".o"))
		if err != nil {
			continue
		}
		args, err := cf.CompilerArgs()
		if err != nil {
			continue
		}
		if out := e.deriveFrom(args, s, rel); out != nil {
			return out
		}
	}
	return nil
}

// deriveFrom rewrites the compiler arguments args of the source file sib
// into those of rel (same directory), or returns nil when kbuild could
// build the two differently.
func (e *Env) deriveFrom(args []string, sib, rel string) []string {
	os, ot := e.Make.ObjectOf(sib), e.Make.ObjectOf(rel)
	if os.Kind != ot.Kind || os.Kind != Vmlinux && os.Kind != Module || os.Unit == "" || ot.Unit == "" {
		return nil
	}
	// kbuild builds an object by the path its Makefile lists it under
	prefix := func(o Object, src string) string {
		if o.Target != "" {
			return path.Dir(o.Target)
		}
		return path.Dir(src)
	}
	if prefix(os, sib) != prefix(ot, rel) {
		return nil
	}
	pfx := prefix(ot, rel)
	sb, tb := strings.TrimSuffix(path.Base(sib), ".c"), strings.TrimSuffix(path.Base(rel), ".c")
	// the Makefile that lists both gives them their flags; no variable or
	// rule of either's own in it (or in what it includes)
	if os.ListDir != ot.ListDir {
		return nil
	}
	own := ownRE(sb, tb)
	for _, d := range []string{ot.ListDir, path.Dir(rel)} {
		texts, complete := e.Make.Texts(d)
		if !complete {
			return nil
		}
		for _, t := range texts {
			if ownsSomething(t, own) {
				return nil
			}
		}
	}
	// the unit each is linked as: itself, or a composite object
	us, ut := strings.TrimSuffix(path.Base(os.Unit), ".o"), strings.TrimSuffix(path.Base(ot.Unit), ".o")
	if (us == sb) != (ut == tb) || us != sb && us != ut {
		return nil // a unit of its own and a member of a composite object
	}
	// kbuild's name-fix: KBUILD_BASENAME and KBUILD_MODNAME are C-safe
	fix := strings.NewReplacer("-", "_", ",", "_").Replace
	ms, mt := fix(us), fix(ut)
	repl := map[string]string{
		"-Wp,-MMD," + pfx + "/." + sb + ".o.d":  "-Wp,-MMD," + pfx + "/." + tb + ".o.d",
		"-Wp,-MD," + pfx + "/." + sb + ".o.d":   "-Wp,-MD," + pfx + "/." + tb + ".o.d",
		"-DKBUILD_BASENAME=\"" + fix(sb) + "\"": "-DKBUILD_BASENAME=\"" + fix(tb) + "\"",
		pfx + "/" + sb + ".o":                   pfx + "/" + tb + ".o",
		"-DKBUILD_MODNAME=\"" + ms + "\"":       "-DKBUILD_MODNAME=\"" + mt + "\"",
		"-D__KBUILD_MODNAME=kmod_" + ms:         "-D__KBUILD_MODNAME=kmod_" + mt,
	}
	out := make([]string, 0, len(args))
	seenSrc := false
	for _, a := range args {
		if r, ok := repl[a]; ok {
			out = append(out, r)
			continue
		}
		// KBUILD_MODFILE is the unit's path under the directory kbuild
		// processes (arch/x86/xen for arch/x86/pci/xen.o): a unit of its
		// own is renamed at its end
		if f, ok := strings.CutPrefix(a, `-DKBUILD_MODFILE="`); ok && us == sb && strings.HasSuffix(f, "/"+sb+`"`) {
			out = append(out, `-DKBUILD_MODFILE="`+strings.TrimSuffix(f, sb+`"`)+tb+`"`)
			continue
		}
		if strings.HasSuffix(a, "/"+sb+".c") && !strings.HasPrefix(a, "-") {
			out = append(out, strings.TrimSuffix(a, sb+".c")+tb+".c")
			seenSrc = true
			continue
		}
		out = append(out, a)
	}
	if !seenSrc {
		return nil
	}
	// every place kbuild names the sibling must have been one of those
	for _, a := range out {
		for _, left := range []string{`"` + sb + `"`, `"` + fix(sb) + `"`, "/" + sb + `"`, "kmod_" + fix(sb), "/" + sb + ".o", "/." + sb + ".o", "/" + sb + ".c", "/" + sb + ".i", "/" + sb + ".s"} {
			if strings.Contains(a, left) {
				return nil
			}
		}
	}
	return out
}

// ownRE matches the object a or b named in the target of an assignment
// or a rule, where kbuild's per-object variables and rules name it:
// CFLAGS_a.o, CFLAGS_REMOVE_a.o, KASAN_SANITIZE_a.o,
// CFLAGS_$(AMDDALPATH)/dc/dcn20/a.o, $(obj)/a.o: ... A longer name that
// ends in _a.o matches too: that only leaves the command to make.
func ownRE(a, b string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^A-Za-z0-9-])(` + regexp.QuoteMeta(a) + "|" + regexp.QuoteMeta(b) + `)\.o\b`)
}

// perObjectRE matches the target of a per-object variable whose object is
// named through a variable (CFLAGS_$(name).o): which one, kprewrite
// cannot tell.
var perObjectRE = regexp.MustCompile(`^[A-Za-z0-9_]+_\$[({][^)}]*[)}]\.o\b|%`)

// ownsSomething reports whether a Makefile text gives an object that own
// matches (or one it cannot name) a variable or rule of its own: own
// matches the target of an assignment or of a rule.
func ownsSomething(text string, own *regexp.Regexp) bool {
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lhs := ""
		if i := strings.IndexAny(line, ":=+?"); i >= 0 {
			lhs = line[:i]
			if strings.HasPrefix(line[i:], "+=") || strings.HasPrefix(line[i:], "?=") || strings.HasPrefix(line[i:], ":=") || line[i] == '=' || line[i] == ':' {
				// an assignment or a rule: its target is lhs
			} else {
				lhs = ""
			}
		}
		if lhs != "" && (own.MatchString(lhs) || perObjectRE.MatchString(strings.TrimSpace(lhs))) {
			return true
		}
	}
	return false
}
