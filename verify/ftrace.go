package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/objdiff"
)

// ftraceCheck proves that a livepatch can redirect every function the
// rewritten patch changes. The kernel redirects a function through its
// ftrace entry (the __fentry__ call kbuild's -pg -mfentry puts at its
// start); a changed function without one (notrace, an object built
// without ftrace flags, or a header inline that gcc emitted out of line:
// the kernel's inline implies notrace) makes the livepatch fail to load
// with "failed to find location for function". Livepatch builders do not
// check this: klp-build builds such a livepatch. Functions that the
// upstream patch changes without an ftrace entry are listed as what a
// livepatch built from it would run into.
func ftraceCheck(env *kbuild.Env, base []*build.Result, fs builtFuncs) Check {
	c := Check{Name: "ftrace", OK: true}
	if env.Config == nil || env.Config.Tristate("CONFIG_DYNAMIC_FTRACE") != "y" {
		c.Skipped = true
		c.Summary = "the config does not build ftrace (CONFIG_DYNAMIC_FTRACE is not set): no function can be livepatched"
		return c
	}
	checked := 0
	var upstream []string
	for _, r := range base {
		bf := fs.base[r.Source]
		if bf == nil {
			continue
		}
		var changed []string
		if nf := fs.rewritten[r.Source]; nf != nil {
			changed = changedIn(bf, nf)
		}
		if !anyTraceable(bf) {
			// an object built without -pg: nothing in it is traceable
			if len(changed) > 0 {
				c.OK = false
				c.Details = append(c.Details, fmt.Sprintf("%s (%s) is built without ftrace (CFLAGS_REMOVE of CC_FLAGS_FTRACE?): none of its functions can be livepatched, yet the patch changes %s",
					r.Source, objectName(r), strings.Join(changed, ", ")))
			}
			continue
		}
		for _, f := range changed {
			checked++
			if sec := bf[f].Section; strings.HasPrefix(sec, ".init.") || strings.HasPrefix(sec, ".exit.") {
				// safe, but not effective for what already ran: say so
				c.Details = append(c.Details, fmt.Sprintf("note: %s: %s (%s) is in %s: init code that already ran (vmlinux, loaded modules) is not run again, so its change reaches only modules loaded after the livepatch", objectName(r), f, r.Source, sec))
				continue
			}
			if !bf[f].Traceable {
				c.OK = false
				c.Details = append(c.Details, fmt.Sprintf("%s: %s (%s) changes but has no ftrace entry (notrace, or a header inline emitted out of line): its livepatch would not load; patch its callers instead", objectName(r), f, r.Source))
			}
		}
		if !fs.hasOriginal {
			continue
		}
		if of := fs.original[r.Source]; of != nil {
			for _, f := range changedIn(fs.upstreamRef(r.Source), of) {
				if b, ok := bf[f]; ok && !b.Traceable {
					upstream = append(upstream, fmt.Sprintf("%s:%s", objectName(r), f))
				}
			}
		}
	}
	c.Summary = fmt.Sprintf("every changed function has an ftrace entry (%d checked)", checked)
	if !c.OK {
		c.Summary = "a changed function cannot be livepatched: it has no ftrace entry"
	}
	if len(upstream) > 0 {
		sort.Strings(upstream)
		c.Details = append(c.Details, fmt.Sprintf("the upstream patch changes %s, which has no ftrace entry: a livepatch built from it fails to load (\"failed to find location for function\")", strings.Join(upstream, ", ")))
	}
	return c
}

// changedIn lists the functions present in both a and b whose code
// differs, skipping the cold parts (foo.cold) that are patched with the
// function they belong to. gcc's clones (foo.constprop.0, foo.isra.0,
// foo.part.0) are functions of their own, which callers reach directly:
// each needs its own ftrace entry.
func changedIn(a, b map[string]objdiff.Func) []string {
	var out []string
	for _, ch := range objdiff.Compare(a, b) {
		if ch.How == "changed" && !coldPart(ch.Name) {
			out = append(out, ch.Name)
		}
	}
	return out
}

// coldPart reports whether a symbol is the cold part of a function.
func coldPart(name string) bool {
	return strings.Contains(name, ".cold")
}

func anyTraceable(fs map[string]objdiff.Func) bool {
	for _, f := range fs {
		if f.Traceable {
			return true
		}
	}
	return false
}
