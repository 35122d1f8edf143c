package verify

import (
	"debug/elf"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/objdiff"
)

// jumpEntrySize is the size of an x86-64 struct jump_entry: the code and
// target as 32-bit offsets, the key as a 64-bit one whose low bits carry
// the branch's sense.
const jumpEntrySize = 16

// Static call trampolines and keys, as static_call_types.h names them.
const (
	staticCallTramp = "__SCT__"
	staticCallKey   = "__SCK__"
)

// jumpLabelCheck proves what both livepatch builders demand of the jump
// labels and static calls of the functions a livepatch carries: none names
// a key a module owns (kpatch-build: "Found a jump label at f()+0x10, using
// key k, which is defined in a module"). A livepatch module's jump table
// and static call sites are resolved when it loads, maybe before the
// module it patches. The compiled code says what the source hides: a jump
// label a header inline brings into a replaced function counts as much as
// one the function spells. Keys of vmlinux, keys the patch adds (the
// livepatch module carries them), tracepoints and dynamic debug (both
// builders leave them inert) pass.
func jumpLabelCheck(env *kbuild.Env, base, rewritten, upstream []*build.Result, fs builtFuncs) (Check, error) {
	c := Check{Name: "jumplabels", OK: true}
	baseObj := map[string]string{}
	for _, r := range base {
		baseObj[r.Source] = r.Object
	}
	refused, notes, checked, err := moduleKeySites(env, baseObj, rewritten, fs.base, fs.rewritten, addedKeys(env, fs.rewrittenFiles))
	if err != nil {
		return c, err
	}
	c.Details = append(refused, notes...)
	c.OK = len(refused) == 0
	if fs.hasOriginal {
		// what the upstream patch's own livepatch would run into
		up, _, _, err := moduleKeySites(env, baseObj, upstream, fs.base, fs.original, addedKeys(env, fs.upstreamFiles))
		if err != nil {
			return c, err
		}
		var fns []string
		for _, d := range up {
			// "bonding: bond_start_xmit (file) has ..." -> "bonding:bond_start_xmit"
			if i := strings.Index(d, " ("); i > 0 {
				fns = appendUnique(fns, strings.Replace(d[:i], ": ", ":", 1))
			}
		}
		if len(fns) > 0 {
			c.Details = append(c.Details, fmt.Sprintf("note: the upstream patch's livepatch would be refused by both builders: %s has a jump label or static call on a module's key", strings.Join(fns, ", ")))
		}
	}
	sort.Strings(c.Details)
	c.Summary = fmt.Sprintf("no function the livepatch carries has a jump label or static call on a module's key (%d in module code checked)", checked)
	if !c.OK {
		c.Summary = "a function the livepatch carries has a jump label or static call on a module's key: both builders refuse it"
	}
	return c, nil
}

// moduleKeySites reads the jump labels and static calls of the functions a
// build changes in module objects (against the base build) and returns
// those on a key a module owns ("bonding: f (file) has a jump label on k,
// ..."), notes on keys whose definition the tree does not show, and how
// many sites it read. newKeys are the keys the build's patch adds. A key
// the object does not define is looked for in the module's other sources
// beside it, then in the whole tree (kbuild.Env.StaticKeyDefiners), whose
// Makefiles say which object its definer builds into.
func moduleKeySites(env *kbuild.Env, baseObj map[string]string, results []*build.Result, baseFuncs, funcs map[string]map[string]objdiff.Func, newKeys map[string]bool) (refused, notes []string, checked int, err error) {
	type outside struct {
		r *build.Result
		s keySite
	}
	var pending []outside
	refuse := func(r *build.Result, s keySite, where string) {
		refused = appendUnique(refused, fmt.Sprintf("%s: %s (%s) has a %s on %s, which %s: both builders refuse it in a livepatch (static_key_enabled() or a call through the key's function reads it without one)",
			r.Module, s.fn, r.Source, s.what, s.key, where))
	}
	for _, r := range results {
		if r == nil || r.Module == "" || r.Object == "" || r.Failed {
			continue
		}
		carried := map[string]bool{}
		for _, ch := range objdiff.Compare(baseFuncs[r.Source], funcs[r.Source]) {
			if ch.How != "removed" {
				carried[objdiff.BaseName(ch.Name)] = true
			}
		}
		if len(carried) == 0 {
			continue
		}
		sites, err := keySites(r.Object, carried)
		if err != nil {
			return nil, nil, 0, kperr.Internalf(err, "reading the jump labels of %s (compiled from %s)", r.Object, r.Source)
		}
		checked += len(sites)
		ownDefs := definedSymbols(baseObj[r.Source])
		for _, s := range sites {
			switch {
			case s.inert || newKeys[s.key]:
				continue
			case s.defined && ownDefs[s.symbol]:
				refuse(r, s, r.Source+" defines")
				continue
			case s.defined:
				continue // defined here and not before: the patch adds it
			}
			if f := env.ModuleKeyDefiner(r.Source, s.key); f != "" {
				refuse(r, s, f+" defines, in the same module")
				continue
			}
			pending = append(pending, outside{r, s})
		}
	}
	if len(pending) == 0 {
		return refused, notes, checked, nil
	}
	var keys []string
	for _, p := range pending {
		keys = appendUnique(keys, p.s.key)
	}
	definers, err := env.StaticKeyDefiners(keys)
	if err != nil {
		return nil, nil, 0, err
	}
	unknown := map[string][]string{} // object -> keys
	for _, p := range pending {
		vmlinux, mods := env.KeyObjects(definers[p.s.key])
		switch {
		case vmlinux:
			// vmlinux's keys are supported (Linux 5.8 on)
		case len(mods) > 0:
			refuse(p.r, p.s, "module "+strings.Join(mods, ", ")+" defines")
		default:
			at := p.r.Module + " (" + p.r.Source + ")"
			unknown[at] = appendUnique(unknown[at], p.s.key)
		}
	}
	for _, at := range slices.Sorted(maps.Keys(unknown)) {
		notes = append(notes, fmt.Sprintf("note: %s: jump labels or static calls on keys no source the config builds defines in a way kprewrite reads: %s (vmlinux's keys are supported; a module's would be refused by the builders)",
			at, strings.Join(unknown[at], ", ")))
	}
	return refused, notes, checked, nil
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// keySite is a jump label or a static call in a compiled function.
type keySite struct {
	fn      string // the function that holds it
	what    string // "jump label" or "static call"
	key     string // the key's source name (a static call's name for a static call)
	symbol  string // the key's symbol
	defined bool   // the object defines the key
	inert   bool   // a tracepoint's or dynamic debug's: both builders leave it inert
}

// keySites reads the jump labels of an object's __jump_table and its calls
// of static call trampolines that lie in the functions named by fns.
func keySites(object string, fns map[string]bool) ([]keySite, error) {
	f, err := elf.Open(object)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("symbols: %v", err)
	}
	relas, err := objdiff.Relocations(f)
	if err != nil {
		return nil, err
	}
	funcAt := func(sec elf.SectionIndex, off int64) string {
		for _, s := range syms {
			if s.Section == sec && elf.ST_TYPE(s.Info) == elf.STT_FUNC && off >= int64(s.Value) && off < int64(s.Value+s.Size) {
				return s.Name
			}
		}
		return ""
	}
	objectAt := func(sec elf.SectionIndex, off int64) string {
		for _, s := range syms {
			if s.Section == sec && elf.ST_TYPE(s.Info) == elf.STT_OBJECT && off >= int64(s.Value) && off < int64(s.Value+max(s.Size, 1)) {
				return s.Name
			}
		}
		return ""
	}
	// where a jump entry's code field points: the section and offset in
	// it (".long 1b - .": the addend is the offset, with no bias)
	place := func(r objdiff.Rela) (elf.SectionIndex, int64, bool) {
		if r.Sym < 0 || r.Sym >= len(syms) {
			return 0, 0, false
		}
		s := syms[r.Sym]
		if s.Section == elf.SHN_UNDEF {
			return 0, 0, false
		}
		return s.Section, int64(s.Value) + r.Addend, true
	}
	jt := -1
	for i, s := range f.Sections {
		if s.Name == "__jump_table" {
			jt = i
		}
	}
	type entry struct{ code, key *objdiff.Rela }
	entries := map[uint64]*entry{}
	var out []keySite
	for i := range relas {
		r := &relas[i]
		if int(r.Target) == jt && jt >= 0 {
			e := entries[r.Off/jumpEntrySize]
			if e == nil {
				e = &entry{}
				entries[r.Off/jumpEntrySize] = e
			}
			switch r.Off % jumpEntrySize {
			case 0:
				e.code = r
			case 8:
				e.key = r
			}
			continue
		}
		// a call of a static call trampoline from a carried function
		if r.Sym < 0 || r.Sym >= len(syms) || !strings.HasPrefix(syms[r.Sym].Name, staticCallTramp) {
			continue
		}
		fn := funcAt(r.Target, int64(r.Off))
		if !fns[objdiff.BaseName(fn)] {
			continue
		}
		name := strings.TrimPrefix(syms[r.Sym].Name, staticCallTramp)
		out = append(out, keySite{fn: fn, what: "static call", key: name, symbol: staticCallKey + name,
			inert: strings.HasPrefix(name, "tp_func_"), // a tracepoint's
			defined: slices.ContainsFunc(syms, func(s elf.Symbol) bool {
				return s.Name == staticCallKey+name && s.Section != elf.SHN_UNDEF
			})})
	}
	for _, idx := range sortedKeys(entries) {
		e := entries[idx]
		if e.code == nil || e.key == nil {
			continue
		}
		sec, off, ok := place(*e.code)
		if !ok {
			continue
		}
		fn := funcAt(sec, off)
		if !fns[objdiff.BaseName(fn)] {
			continue
		}
		s := keySite{fn: fn, what: "jump label"}
		ks := syms[e.key.Sym]
		switch {
		case ks.Section == elf.SHN_UNDEF:
			s.symbol = ks.Name
		case elf.ST_TYPE(ks.Info) == elf.STT_SECTION:
			s.defined = true
			s.symbol = objectAt(ks.Section, e.key.Addend&^3)
			if int(ks.Section) < len(f.Sections) && f.Sections[ks.Section].Name == "__dyndbg" {
				s.inert = true
			}
		default:
			s.defined = true
			s.symbol = ks.Name
		}
		s.key = s.symbol
		if strings.HasPrefix(s.symbol, "__tracepoint_") || strings.HasPrefix(s.symbol, "__UNIQUE_ID_ddebug") {
			s.inert = true
		}
		out = append(out, s)
	}
	return out, nil
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// definedSymbols returns the names of the symbols an object defines, none
// when it cannot be read (a new source has no base object).
func definedSymbols(object string) map[string]bool {
	out := map[string]bool{}
	if object == "" {
		return out
	}
	f, err := elf.Open(object)
	if err != nil {
		return out
	}
	defer f.Close()
	syms, _ := f.Symbols()
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && s.Name != "" {
			out[s.Name] = true
		}
	}
	return out
}

// addedKeys returns the static keys and static calls the rewritten files
// define that their base versions did not: new data the livepatch module
// carries, with the functions that use it.
func addedKeys(env *kbuild.Env, files map[string][]byte) map[string]bool {
	out := map[string]bool{}
	for f, text := range files {
		old := map[string]bool{}
		if src, err := env.Tree.ReadFile(f); err == nil {
			old = ast.StaticKeyDefinitions(src)
		}
		for k := range ast.StaticKeyDefinitions(text) {
			if !old[k] {
				out[k] = true
			}
		}
	}
	return out
}
