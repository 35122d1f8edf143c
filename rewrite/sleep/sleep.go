// Package sleep tells whether code may sleep at a point of a function: the
// question behind every allocation kprewrite adds (GFP_KERNEL or
// GFP_ATOMIC) and behind calls that may block (kfree_rcu_mightsleep).
//
// The evidence is the kernel's own rule: code that calls something that
// sleeps (mutex_lock, msleep, kmalloc(GFP_KERNEL), ...) must run where
// sleeping is allowed, since might_sleep() in the callee would warn
// otherwise. So a point of a function may sleep when such a call runs on
// every path through the point (at the top level of the function body,
// before the point with no label in between, or after it with no return
// or goto in between; not under an #if of its own), and no atomic section
// (a spinlock, RCU read side, preempt or irq disabling, a trylock, a
// guard) is open there. A call of a function of the same file that sleeps
// on every path counts too (three calls down), and one that only takes
// locks (a lock wrapper) opens a section, one that only releases closes
// one. A static function with no evidence of its own may sleep where every
// one of its callers, all in the same file, may sleep at the call, and its
// name appears nowhere else (not in a macro, an initializer or a function
// pointer: callers no one can list); the callers are asked the same
// question, four levels up.
//
// What it does not see: a static function named by a macro of a header,
// and sleeping that depends on an argument's value beyond the top level.
// The answer errs towards "may not sleep".
package sleep

import (
	"fmt"
	"regexp"
	"slices"
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
	sleepsRE = regexp.MustCompile(`^(mutex_lock|mutex_lock_nested|mutex_lock_interruptible|mutex_lock_killable|refcount_dec_and_mutex_lock|atomic_dec_and_mutex_lock|down|down_read|down_write|down_interruptible|down_killable|lock_sock|msleep|msleep_interruptible|ssleep|usleep_range|schedule|schedule_timeout|wait_event|wait_event_interruptible|wait_event_timeout|wait_for_completion|wait_for_completion_timeout|might_sleep|cond_resched|copy_from_user|copy_to_user|get_user|put_user|vmalloc|vzalloc|synchronize_rcu|synchronize_net|flush_work|cancel_work_sync|cancel_delayed_work_sync|rtnl_lock|kthread_stop|filp_open|kern_path|drm_dp_dpcd_read|drm_dp_dpcd_write|drm_dp_dpcd_readb|drm_dp_dpcd_writeb|drm_dp_dpcd_read_link_status|i2c_transfer|i2c_smbus_xfer|i2c_smbus_read_byte_data|i2c_smbus_write_byte_data|i2c_smbus_read_word_data|i2c_smbus_write_word_data)$`)
	// openers start an atomic section; trylocks count (the section is
	// open where they succeeded)
	openRE  = regexp.MustCompile(`^((raw_)?(spin|read|write)_(try)?lock(_bh|_irq|_irqsave)?(_nested)?|(local_lock|xa_lock|write_seqlock|netif_tx_lock|bit_spin_lock)\w*|bh_lock_sock(_nested)?|rcu_read_lock(_bh|_sched)?|local_irq_(disable|save)|local_bh_disable|preempt_disable(_notrace)?|task_lock|get_cpu(_var|_ptr)?|kmap_atomic\w*|pagefault_disable)$`)
	closeRE = regexp.MustCompile(`^((raw_)?(spin|read|write)_unlock(_bh|_irq|_irqrestore)?|(local_unlock|xa_unlock|write_sequnlock|netif_tx_unlock|bit_spin_unlock)\w*|bh_unlock_sock|rcu_read_unlock(_bh|_sched)?|local_irq_(enable|restore)|local_bh_enable|preempt_enable(_notrace|_no_resched)?|task_unlock|put_cpu(_var|_ptr)?|kunmap_atomic|pagefault_enable)$`)
	// wrapperLockRE takes a function defined outside the file by its name:
	// one that takes a spinning lock (sch_tree_lock(),
	// netif_addr_lock_bh(), hlist_bl_lock())
	wrapperLockRE = regexp.MustCompile(`(_lock_bh|_lock_irq|_lock_irqsave|_bl_lock|_lock_nest_lock|^sch_tree_lock|spin_lock\w*)$`)
	allocRE       = regexp.MustCompile(`^(kmalloc|kzalloc|kcalloc|kmalloc_array|kvmalloc|kvzalloc|kvcalloc|kmem_cache_alloc|kmem_cache_zalloc|alloc_pages|__get_free_pages|kmalloc_node|kzalloc_node|kvmalloc_node|kmemdup|kstrdup)$`)
	// sleepingGuards are the cleanup.h guard classes that may sleep; any
	// other guard is taken for an atomic section
	sleepingGuards = map[string]bool{"mutex": true, "mutex_intr": true, "rwsem_read": true, "rwsem_write": true, "srcu": true}
)

// sleepingGFP are the allocation flags that allow direct reclaim: an
// allocation with one of them may sleep.
var sleepingGFP = map[string]bool{
	"GFP_KERNEL": true, "GFP_KERNEL_ACCOUNT": true, "GFP_NOFS": true, "GFP_NOIO": true,
	"GFP_USER": true, "GFP_HIGHUSER": true, "GFP_HIGHUSER_MOVABLE": true,
}

// At tells whether the code of f at byte off may sleep.
//
// headers are the headers f includes (parsed): a lock wrapper they define,
// a function-like macro (unix_state_lock(s) is spin_lock(...),
// hci_dev_lock(d) is mutex_lock(...)) or a static inline, is read there
// rather than guessed from its name.
func At(f *ast.File, off int, headers ...*ast.File) Verdict {
	return at(f, off, 0, map[string]bool{}, headers)
}

func at(f *ast.File, off, depth int, seen map[string]bool, headers []*ast.File) Verdict {
	fn := f.FuncAt(off)
	if fn == nil {
		return Verdict{Why: "outside a function"}
	}
	header := f.Normalized(fn.Header)
	if strings.HasSuffix(fn.Name, "_irq") || strings.Contains(fn.Name, "_irq_") || strings.HasPrefix(header, "irqreturn_t") || strings.Contains(header, "static irqreturn_t") {
		return Verdict{Why: "in an interrupt handler"}
	}
	if strings.Contains(header, "__must_hold") || strings.Contains(header, "__releases") {
		return Verdict{Why: fmt.Sprintf("%s is called with a lock held (%s)", fn.Name, annotation(header))}
	}
	s := scan(f, fn, off, 0, map[string]bool{}, headers)
	switch {
	case s.entered:
		return Verdict{Why: fmt.Sprintf("%s releases a lock it did not take: its caller holds it", fn.Name)}
	case s.open:
		return Verdict{Why: fmt.Sprintf("a lock or atomic section is open in %s", fn.Name)}
	case s.sleeps != "":
		return Verdict{May: true, Why: fmt.Sprintf("%s sleeps (%s)", fn.Name, s.sleeps)}
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
	var whys, callers []string
	for _, c := range calls {
		v := at(f, c, depth+1, seen, headers)
		if !v.May {
			return none
		}
		caller := f.FuncAt(c).Name
		if !slices.Contains(callers, caller) {
			callers = append(callers, caller)
			whys = append(whys, caller+" ("+v.Why+")")
		}
	}
	return Verdict{May: true, Why: fmt.Sprintf("every caller of %s may sleep at the call: %s", fn.Name, strings.Join(whys, "; "))}
}

func annotation(header string) string {
	if strings.Contains(header, "__must_hold") {
		return "__must_hold"
	}
	return "__releases"
}

// scanned is what one walk of a function body found.
type scanned struct {
	open    bool   // an atomic section is open at the point
	entered bool   // a section closes before any opens: the caller holds a lock
	opens   int    // calls that open a section, over the whole body
	closes  int    // calls that close one
	sleeps  string // a sleeping call on every path through the point ("" if none)
}

// section is an atomic section open during the walk.
type section struct {
	block int  // the brace depth of the call that opened it
	guard bool // a cleanup.h guard: it ends with its block
}

// scan walks fn's body. With off < 0 it asks whether fn sleeps on every
// path from its entry, and what its locks add up to. depth counts the
// callees followed already; seen holds the functions on the way.
func scan(f *ast.File, fn *ast.Func, off, depth int, seen map[string]bool, headers []*ast.File) scanned {
	toks := f.CodeTokens(fn.Body)
	cond := f.CondAt(fn.Span.Off).String()
	var out scanned
	var open []section
	opened, closed := 0, 0
	reached := off < 0 // the walk is past the point
	block := 0         // brace depth: 1 is the function body's top level
	exited := false    // a return or goto before the point (off < 0: before here)
	exitAfter := false // a return or goto between the point and here
	before, after := "", ""
	beforeAt := -1 // the token of the evidence before the point
	// the gotos of each label, and the labels whose address is taken
	// (&&label, a computed goto's target): a label after the evidence keeps
	// it only when every goto to it is visible and lies between the
	// evidence and the label (one before the evidence jumps past it; one
	// after the label may be reached by a path that did)
	gotos := map[string][]int{}
	computed := false
	for i := 0; i+1 < len(toks); i++ {
		switch {
		case toks[i].Text == "goto" && toks[i+1].Kind == ast.Ident:
			gotos[toks[i+1].Text] = append(gotos[toks[i+1].Text], i)
		case toks[i].Text == "goto" || toks[i].Text == "&&" && toks[i+1].Kind == ast.Ident && (i == 0 || toks[i-1].Kind != ast.Ident && toks[i-1].Text != ")" && toks[i-1].Text != "]"):
			computed = true
		}
	}
	keepsEvidence := func(label string, at int) bool {
		gs := gotos[label]
		if computed || len(gs) == 0 {
			return false // reached from a macro's goto, an asm goto, a computed goto
		}
		for _, g := range gs {
			if g < beforeAt || g > at {
				return false
			}
		}
		return true
	}
	evidence := func(i int, what string) {
		t := toks[i]
		if block != 1 || !unconditional(toks, i) || f.CondAt(t.Off).String() != cond {
			return // under a condition, in a loop, under an #if: it may not run
		}
		switch {
		case off < 0:
			if !exited && before == "" {
				before, beforeAt = what, i
			}
		case !reached:
			if before == "" {
				before, beforeAt = what, i
			}
		case !exitAfter && after == "":
			after = what
		}
	}
	for i, t := range toks {
		if !reached && t.Off >= off {
			reached = true
			out.open = len(open) > 0
		}
		switch t.Text {
		case "{":
			block++
			continue
		case "}":
			if !reached {
				for len(open) > 0 && open[len(open)-1].guard && open[len(open)-1].block >= block {
					open = open[:len(open)-1]
				}
			}
			block--
			continue
		case "return", "goto":
			if reached && off >= 0 {
				exitAfter = true
			} else {
				exited = true
			}
			continue
		}
		if t.Kind != ast.Ident || i+1 >= len(toks) {
			continue
		}
		if toks[i+1].Text == ":" && isLabel(toks, i) {
			if !reached && before != "" && !keepsEvidence(t.Text, i) {
				before = "" // a goto may jump past the evidence to the point
			}
			continue
		}
		if toks[i+1].Text != "(" || (i > 0 && (toks[i-1].Text == "->" || toks[i-1].Text == ".")) {
			continue // not a call, or a call through a pointer
		}
		opens, closes := 0, 0
		switch {
		case t.Text == "guard" || t.Text == "scoped_guard":
			class := ""
			if i+2 < len(toks) {
				class = toks[i+2].Text
			}
			if sleepingGuards[class] {
				evidence(i, t.Text+"("+class+")")
				continue
			}
			opened++
			if !reached {
				open = append(open, section{block, true})
			}
			continue
		case openRE.MatchString(t.Text):
			opens = 1
		case closeRE.MatchString(t.Text):
			closes = 1
		case sleepsRE.MatchString(t.Text):
			evidence(i, t.Text)
		case allocRE.MatchString(t.Text):
			if gfp := sleepingFlag(toks, i+1); gfp != "" {
				evidence(i, t.Text+"("+gfp+")")
			}
		case objAllocRE.MatchString(t.Text) && i+1 < len(toks) && toks[i+1].Text == "(":
			if gfp := objAllocFlag(toks, i+1, objAllocArgs[objAllocRE.FindStringSubmatch(t.Text)[1]]); gfp != "" {
				evidence(i, t.Text+"("+gfp+")")
			}
		case depth < calleeDepth && !seen[t.Text] && t.Text != fn.Name:
			defs := f.Definitions(t.Text)
			in := f
			if len(defs) == 0 {
				if m := headerMacro(headers, t.Text); m != nil {
					// a header's macro: what its body calls
					mo, mc, ms := macroEffect(m)
					if ms != "" {
						evidence(i, t.Text+" -> "+ms)
					}
					if mo && !mc {
						opens = 1
					} else if mc && !mo {
						closes = 1
					}
					break
				}
				if h, hd := headerDefinitions(headers, t.Text); len(hd) > 0 {
					in, defs = h, hd
				}
			}
			if len(defs) == 0 {
				// a wrapper defined elsewhere (a header's
				// sch_tree_lock(), netif_addr_lock_bh()): taken by its name
				// to lock what it says, so the code after it may not sleep
				if i+1 < len(toks) && toks[i+1].Text == "(" && wrapperLockRE.MatchString(t.Text) {
					opens = 1 // its unlock is not taken to close it: errs towards atomic
					break
				}
				continue
			}
			seen[fn.Name] = true
			sleeps := ""
			anyOpens, allClose := false, true
			for k, d := range defs {
				s := scan(in, d, -1, depth+1, seen, headers)
				if k == 0 || s.sleeps == "" {
					sleeps = s.sleeps // every definition must sleep
				}
				// a lock wrapper (it only opens) opens a section, an unlock
				// wrapper closes one; a function that does both is taken to
				// balance them on every path
				anyOpens = anyOpens || (s.opens > 0 && s.closes == 0)
				allClose = allClose && s.closes > 0 && s.opens == 0
			}
			if sleeps != "" {
				evidence(i, t.Text+" -> "+sleeps)
			}
			if anyOpens {
				opens = 1
			} else if allClose {
				closes = 1
			}
		}
		if closes > 0 && opened == 0 {
			out.entered = true // released before anything was taken
		}
		opened += opens
		closed += closes
		if reached {
			continue
		}
		if opens > 0 {
			open = append(open, section{block: block})
		}
		if n := len(open); closes > 0 && n > 0 && open[n-1].block == block && !open[n-1].guard {
			// an unlock in a nested block (an early exit) leaves the
			// section open on the path that goes on
			open = open[:n-1]
		}
	}
	if !reached {
		out.open = len(open) > 0
	}
	out.opens, out.closes = opened, closed
	out.sleeps = before
	if out.sleeps == "" {
		out.sleeps = after
	}
	return out
}

// unconditional reports whether the call at i runs whenever its statement
// does: the statement is not the body of an if, else, loop or switch
// without braces (the call may be in the condition of an if, while or
// switch), and no ?:, && or || comes before it in the statement.
func unconditional(toks []ast.Token, i int) bool {
	depth := 0
	header := -1 // the '(' of the outermost group around the call
	start := 0
	for k := i - 1; k >= 0; k-- {
		switch toks[k].Text {
		case ")", "]":
			depth++
			continue
		case "(", "[":
			if depth > 0 {
				depth--
				continue
			}
			if toks[k].Text == "(" {
				header = k
			}
			continue
		}
		if depth == 0 && (toks[k].Text == ";" || toks[k].Text == "{" || toks[k].Text == "}") {
			start = k + 1
			break
		}
	}
	for k := start; k < i; k++ {
		switch toks[k].Text {
		case "?", "&&", "||":
			return false
		}
	}
	switch toks[start].Text {
	case "else", "do", "for", "case", "default":
		return false
	case "if", "while", "switch":
		// only in the condition: the '(' right after the keyword
		return header == start+1 && ast.MatchForward(toks, start+1) > i
	}
	return true
}

// isLabel reports whether the identifier at i, followed by ':', is a
// label: it starts a statement and is not a case or a bitfield.
func isLabel(toks []ast.Token, i int) bool {
	if i == 0 {
		return true
	}
	switch toks[i-1].Text {
	case ";", "{", "}":
		return toks[i].Text != "default"
	}
	return false
}

// objAllocRE names the typed allocation macros of Linux 7.x
// (kzalloc_obj(*p), kmalloc_objs(*p, n), kzalloc_flex(*p, fam, n)), whose
// gfp argument is optional: without it, default_gfp() gives GFP_KERNEL.
var objAllocRE = regexp.MustCompile(`^k(?:v)?[mz]alloc_(obj|objs|flex)$`)

// objAllocArgs are the arguments of each kind before the optional gfp.
var objAllocArgs = map[string]int{"obj": 1, "objs": 2, "flex": 3}

// objAllocFlag is sleepingFlag for a typed allocation macro whose '(' is
// at open and which takes want arguments before its optional gfp.
func objAllocFlag(toks []ast.Token, open, want int) string {
	end := ast.MatchForward(toks, open)
	if end < 0 {
		return ""
	}
	if args := ast.ArgRanges(toks, open, end); len(args) == want {
		return "GFP_KERNEL, by default"
	}
	return sleepingFlag(toks, open)
}

// sleepingFlag returns the gfp flag of the call whose '(' is at open when
// it allows sleeping and is not chosen by a condition ("" otherwise).
func sleepingFlag(toks []ast.Token, open int) string {
	end := ast.MatchForward(toks, open)
	flag := ""
	for k := open; k < end; k++ {
		if toks[k].Text == "?" {
			return "" // a flag chosen at run time
		}
		if sleepingGFP[toks[k].Text] {
			flag = toks[k].Text
		}
	}
	return flag
}

// definitions returns the functions of f named name that have a body (one
// per #if branch that defines it).
// headerMacro returns the function-like macro name of the headers.
func headerMacro(headers []*ast.File, name string) *ast.Macro {
	for _, h := range headers {
		if m := h.Macro(name); m != nil && m.FuncLike && !m.Undef {
			return m
		}
	}
	return nil
}

// headerDefinitions returns the header that defines name as a function
// (a static inline), and its definitions there.
func headerDefinitions(headers []*ast.File, name string) (*ast.File, []*ast.Func) {
	for _, h := range headers {
		if defs := h.Definitions(name); len(defs) > 0 {
			return h, defs
		}
	}
	return nil, nil
}

// macroEffect reads what a macro's body calls: whether it opens or closes
// an atomic section, and a call in it that sleeps.
func macroEffect(m *ast.Macro) (opens, closes bool, sleeps string) {
	for _, t := range ast.Tokenize([]byte(m.Body)) {
		if t.Kind != ast.Ident {
			continue
		}
		w := t.Text
		switch {
		case openRE.MatchString(w):
			opens = true
		case closeRE.MatchString(w):
			closes = true
		case sleepsRE.MatchString(w) && sleeps == "":
			sleeps = w
		}
	}
	return opens, closes, sleeps
}

// callsOf returns the offsets of the calls of fn in f, and false when fn is
// named anywhere but in a direct call inside a function body (its address
// is taken, or a macro of the file names it): then its callers are unknown.
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
		next, prev := nextCode(f.Tokens, i), prevCode(f.Tokens, i)
		if next < 0 || f.Tokens[next].Text != "(" || (prev >= 0 && (f.Tokens[prev].Text == "&" || f.Tokens[prev].Text == "." || f.Tokens[prev].Text == "->")) {
			return nil, false
		}
		out = append(out, t.Off)
	}
	for _, m := range f.Macros {
		for _, t := range ast.Tokenize([]byte(m.Body)) {
			if t.Kind == ast.Ident && t.Text == fn.Name {
				return nil, false
			}
		}
	}
	return out, true
}

// isPrototype reports whether the name at i is declared, not used: the
// file declares the function before defining it ("static void f(void);").
func isPrototype(toks []ast.Token, i int) bool {
	open := nextCode(toks, i)
	if open < 0 || toks[open].Text != "(" {
		return false
	}
	end := nextCode(toks, ast.MatchForward(toks, open))
	return end >= 0 && toks[end].Text == ";"
}

// nextCode returns the index of the first token after i that is not a
// comment, or -1.
func nextCode(toks []ast.Token, i int) int {
	if i < 0 {
		return -1
	}
	for k := i + 1; k < len(toks); k++ {
		if toks[k].Kind != ast.Comment {
			return k
		}
	}
	return -1
}

// prevCode returns the index of the last token before i that is not a
// comment, or -1.
func prevCode(toks []ast.Token, i int) int {
	for k := i - 1; k >= 0; k-- {
		if toks[k].Kind != ast.Comment {
			return k
		}
	}
	return -1
}
