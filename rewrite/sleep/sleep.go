// Package sleep tells whether code may sleep at a point of a function: the
// question behind every allocation kprewrite adds (GFP_KERNEL or
// GFP_ATOMIC) and behind calls that may block (kfree_rcu_mightsleep).
//
// The evidence is the kernel's own rule: a function that calls something
// that sleeps (mutex_lock, msleep, kmalloc(GFP_KERNEL), ...) is only ever
// called where sleeping is allowed, since might_sleep() in the callee would
// warn otherwise. At a point of such a function where the function itself
// has opened no spinlock, RCU read-side or other atomic section, the code
// may sleep. A static function with no such call of its own may sleep where
// every one of its callers, all in the same file, may sleep at the call,
// and its address is taken nowhere (a function pointer has callers no one
// can list); the callers are asked the same question, a few levels up.
package sleep

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
)

// Verdict is the answer for one point of the code.
type Verdict struct {
	May bool   // the code may sleep there
	Why string // the evidence, for the report
}

// GFP is the allocation flag the verdict allows: GFP_KERNEL where the code
// may sleep, GFP_ATOMIC elsewhere.
func (v Verdict) GFP() string {
	if v.May {
		return "GFP_KERNEL"
	}
	return "GFP_ATOMIC"
}

// callerDepth bounds how far up the callers are followed, calleeDepth
// how far down the callees.
const (
	callerDepth = 4
	calleeDepth = 3
)

var (
	sleepsRE    = regexp.MustCompile(`^(mutex_lock|mutex_lock_nested|mutex_lock_interruptible|mutex_lock_killable|refcount_dec_and_mutex_lock|atomic_dec_and_mutex_lock|down|down_read|down_write|down_interruptible|lock_sock|msleep|msleep_interruptible|ssleep|usleep_range|schedule|schedule_timeout|wait_event|wait_event_interruptible|wait_event_timeout|wait_for_completion|wait_for_completion_timeout|might_sleep|cond_resched|copy_from_user|copy_to_user|get_user|put_user|vmalloc|vzalloc|synchronize_rcu|synchronize_net|flush_work|cancel_work_sync|cancel_delayed_work_sync|rtnl_lock|kthread_stop|filp_open|kern_path)$`)
	atomicRE    = regexp.MustCompile(`^(spin_lock|spin_lock_bh|spin_lock_irq|spin_lock_irqsave|raw_spin_lock|raw_spin_lock_irq|raw_spin_lock_irqsave|read_lock|write_lock|read_lock_bh|write_lock_bh|write_lock_irq|write_lock_irqsave|rcu_read_lock|rcu_read_lock_bh|rcu_read_lock_sched|local_irq_disable|local_irq_save|local_bh_disable|preempt_disable|task_lock)$`)
	unlockRE    = regexp.MustCompile(`^(spin_unlock|spin_unlock_bh|spin_unlock_irq|spin_unlock_irqrestore|raw_spin_unlock|raw_spin_unlock_irq|raw_spin_unlock_irqrestore|read_unlock|write_unlock|read_unlock_bh|write_unlock_bh|write_unlock_irq|write_unlock_irqrestore|rcu_read_unlock|rcu_read_unlock_bh|rcu_read_unlock_sched|local_irq_enable|local_irq_restore|local_bh_enable|preempt_enable|task_unlock)$`)
	gfpKernelRE = regexp.MustCompile(`^(kmalloc|kzalloc|kcalloc|kvmalloc|kvzalloc|kmem_cache_alloc|kmem_cache_zalloc|alloc_pages|__get_free_pages)$`)
)

// sleepingGFP are the allocation flags that allow direct reclaim: an
// allocation with one of them may sleep.
var sleepingGFP = map[string]bool{
	"GFP_KERNEL": true, "GFP_KERNEL_ACCOUNT": true, "GFP_NOFS": true, "GFP_NOIO": true,
	"GFP_USER": true, "GFP_HIGHUSER": true, "GFP_HIGHUSER_MOVABLE": true,
}

// At tells whether the code of f at byte off may sleep.
func At(f *ast.File, off int) Verdict {
	return at(f, off, 0, map[string]bool{})
}

func at(f *ast.File, off, depth int, seen map[string]bool) Verdict {
	fn := f.FuncAt(off)
	if fn == nil {
		return Verdict{Why: "outside a function"}
	}
	if strings.HasSuffix(fn.Name, "_irq") || strings.Contains(fn.Name, "_irq_") || strings.HasPrefix(f.Normalized(fn.Header), "irqreturn_t") || strings.Contains(f.Normalized(fn.Header), "static irqreturn_t") {
		return Verdict{Why: "in an interrupt handler"}
	}
	open, sleeps := scan(f, fn, off, 0, map[string]bool{})
	switch {
	case open:
		return Verdict{Why: fmt.Sprintf("a lock or atomic section is open in %s", fn.Name)}
	case sleeps != "":
		return Verdict{May: true, Why: fmt.Sprintf("%s sleeps (%s)", fn.Name, sleeps)}
	}
	none := Verdict{Why: fmt.Sprintf("nothing in %s shows it may sleep", fn.Name)}
	if depth >= callerDepth || seen[fn.Name] || !fn.Has("static") {
		return none
	}
	seen[fn.Name] = true // a call cycle proves nothing
	defer delete(seen, fn.Name)
	calls, ok := callsOf(f, fn)
	if !ok || len(calls) == 0 {
		return none
	}
	var whys []string
	for _, c := range calls {
		v := at(f, c, depth+1, seen)
		if !v.May {
			return none
		}
		caller := f.FuncAt(c).Name
		if !strings.Contains(strings.Join(whys, " "), caller+" ") {
			whys = append(whys, caller+" ("+v.Why+")")
		}
	}
	return Verdict{May: true, Why: fmt.Sprintf("every caller of %s may sleep at the call: %s", fn.Name, strings.Join(whys, "; "))}
}

// scan reports whether fn has opened an atomic section that is still open
// at off, and the first call in fn that shows it sleeps ("" if none): a
// call of something that sleeps, or of a function of f that does
// (depth levels down already; seen holds the functions on the way).
func scan(f *ast.File, fn *ast.Func, off, depth int, seen map[string]bool) (bool, string) {
	toks := f.CodeTokens(fn.Body)
	open := 0
	sleeps := ""
	for i, t := range toks {
		if t.Kind != ast.Ident || i+1 >= len(toks) || toks[i+1].Text != "(" {
			continue
		}
		switch {
		case atomicRE.MatchString(t.Text) && t.Off < off:
			open++
		case unlockRE.MatchString(t.Text) && t.Off < off:
			if open > 0 {
				open--
			}
		case sleepsRE.MatchString(t.Text) && sleeps == "":
			sleeps = t.Text
		case gfpKernelRE.MatchString(t.Text) && sleeps == "":
			for k := i + 2; k < len(toks) && k < i+40 && toks[k].Text != ";"; k++ {
				if sleepingGFP[toks[k].Text] {
					sleeps = t.Text + "(" + toks[k].Text + ")"
				}
			}
		case sleeps == "" && depth < calleeDepth && !seen[t.Text] && t.Text != fn.Name:
			if callee := defined(f, t.Text); callee != nil {
				seen[fn.Name] = true
				if _, s := scan(f, callee, -1, depth+1, seen); s != "" {
					sleeps = t.Text + " -> " + s
				}
			}
		}
	}
	return open > 0, sleeps
}

// defined returns the function of f named name that has a body, or nil.
func defined(f *ast.File, name string) *ast.Func {
	for _, fn := range f.Funcs {
		if fn.Name == name && fn.Body.End > fn.Body.Off {
			return fn
		}
	}
	return nil
}

// callsOf returns the offsets of the calls of fn in f, and false when fn is
// named anywhere but in a direct call inside a function body (its address
// is taken, or a macro of the file uses it): then its callers are unknown.
func callsOf(f *ast.File, fn *ast.Func) ([]int, bool) {
	var out []int
	for i, t := range f.Tokens {
		if t.Kind != ast.Ident || t.Text != fn.Name || fn.Header.Contains(t.Off) {
			continue
		}
		caller := f.FuncAt(t.Off)
		if caller == nil || !caller.Body.Contains(t.Off) || caller == fn {
			// a declaration, an initializer, or recursion
			if caller == nil && isPrototype(f.Tokens, i) {
				continue
			}
			return nil, false
		}
		next := nextCode(f.Tokens, i)
		prev := prevCode(f.Tokens, i)
		if next == nil || next.Text != "(" || (prev != nil && (prev.Text == "&" || prev.Text == "." || prev.Text == "->")) {
			return nil, false
		}
		out = append(out, t.Off)
	}
	named := regexp.MustCompile(`\b` + regexp.QuoteMeta(fn.Name) + `\b`)
	for _, m := range f.Macros {
		if named.MatchString(m.Body) {
			return nil, false
		}
	}
	return out, true
}

// isPrototype reports whether the name at i is declared, not used: the
// file declares the function before defining it ("static void f(void);").
func isPrototype(toks []ast.Token, i int) bool {
	next := nextCode(toks, i)
	if next == nil || next.Text != "(" {
		return false
	}
	depth := 0
	for k := i + 1; k < len(toks); k++ {
		switch toks[k].Text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				after := nextCode(toks, k)
				return after != nil && after.Text == ";"
			}
		}
	}
	return false
}

func nextCode(toks []ast.Token, i int) *ast.Token {
	for k := i + 1; k < len(toks); k++ {
		if toks[k].Kind != ast.Comment {
			return &toks[k]
		}
	}
	return nil
}

func prevCode(toks []ast.Token, i int) *ast.Token {
	for k := i - 1; k >= 0; k-- {
		if toks[k].Kind != ast.Comment {
			return &toks[k]
		}
	}
	return nil
}
