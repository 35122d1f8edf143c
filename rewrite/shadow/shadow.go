// Package shadow is the general fallback for a new struct member: the
// member lives in a klp shadow variable attached to the object
// (include/linux/livepatch.h, Documentation/livepatch/shadow-vars.rst), and
// the struct keeps its layout.
//
// Reads become a getter around klp_shadow_get that returns the member's
// zero value for objects without a shadow (those created before the
// livepatch); writes go through klp_shadow_get_or_alloc with a gfp chosen
// per call site; members that need initialising (locks, lists, wait queues)
// are reached through a pointer accessor whose constructor initialises them
// (constructors run under a spinlock: they never sleep). Where the tree
// creates the object the shadow is allocated with the creation site's gfp;
// where it frees the object, klp_shadow_free runs first; a post-unpatch
// callback frees what is left with klp_shadow_free_all. Shadow ids are
// derived from the struct and member name, so a later cumulative livepatch
// reuses them, and can be overridden.
//
// No accessor can crash on a failed allocation:
//
//   - Scalar getters never allocate; a setter whose allocation fails drops
//     the write (the report says so, with the gfp of each site).
//   - A spinning lock (spinlock_t, raw_spinlock_t, rwlock_t) gets no shadow
//     at all: it is one of a static table of 1<<TableBits locks, statically
//     initialised, indexed by hash_ptr of the object's address, as the
//     kernel's hashed wait queues and lib/atomic64.c do. Nothing is
//     allocated, so the lock is never NULL; lock and unlock compute the
//     same slot, so they take the same lock, with no lookup; objects
//     created before the livepatch are covered; nothing leaks; the
//     upstream spin_lock_init() of the member becomes a call of an empty
//     function of the rewrite's own (re-initialising a slot another
//     object's code holds would break it; the call keeps the place and
//     says so). A static fallback
//     lock used only when an allocation fails would not be correct: a task
//     that failed to allocate and one that allocated later would hold
//     different locks for one object. The table's one hazard is two
//     objects sharing a slot while code holds both locks: the transform
//     refuses a member whose lock the patched code nests (a second acquire
//     while one is held, a _nested acquire, or a call to a function of the
//     same file that takes it). Lockdep orders locks by class, and every
//     object's lock is of one class, so sharing a slot adds no other cycle
//     to code that lockdep accepts upstream.
//   - Other members reached through a pointer accessor (lists, wait queues,
//     sleeping locks, arrays, structs) have no safe stand-in: they are
//     allocated with GFP_KERNEL | __GFP_NOFAIL where the code may sleep,
//     and a use where it may not is refused (an engineer allocates the
//     shadow earlier).
package shadow

import (
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
	"github.com/kprewrite/kprewrite/rewrite/sleep"
)

// Transform is the shadow-variable transform.
var Transform = &rewrite.Transform{
	Name:     "shadow",
	Doc:      "a new struct member lives in a klp shadow variable: getters default to zero, writes allocate, frees and unpatch release it",
	Kinds:    []hazard.Kind{hazard.StructLayout},
	Requires: []rewrite.Requirement{sites.Creation, sites.FreeSites},
	Member: &rewrite.MemberStrategy{
		Use:   "shadow variable",
		Takes: func(ch *change.Change) bool { return ch.PostMember.Macro == "" },
		Pin: func(opt rewrite.Options, m, where string) rewrite.Options {
			var id uint64
			if n, err := fmt.Sscanf(where, "shadow: id 0x%x", &id); err == nil && n == 1 {
				opt.ShadowIDs = rewrite.WithPin(opt.ShadowIDs, m, id)
			}
			return opt
		},
		Keeps: func(m, where string) string {
			return fmt.Sprintf("%s in its shadow variables (%s): atomic replace runs no callback of the replaced livepatch, so its post-unpatch callback does not free them, and this livepatch frees them only when it is disabled itself", m, where)
		},
		Drops: "the shadow variables, should this livepatch's transition be reversed: its post-unpatch callback then frees them while the replaced livepatch still uses them (klp-build and kpatch-build leave struct klp_patch's states unset, so the callback cannot ask klp_get_prev_state() whether a replaced livepatch is still active)",
	},
	Run: run,
}

// ID returns the default shadow id of a member ("struct slave.enslave_seq").
func ID(key, name string) uint64 {
	h := fnv.New32a()
	h.Write([]byte(key + "." + name))
	return uint64(h.Sum32())
}

type plan struct {
	m     *member.Member
	first *member.Member // for a struct held by value: the member as its pointer plan had it
	// byValue: a struct held by value (getter and setter); valueOK: one
	// that may be, should the pointer accessor be refused with ptrWhy
	byValue, valueOK bool
	ptrWhy           string
	// unwritten are the reads no write of the same object precedes on
	// every path (writtenFirst), once the uses were checked
	unwritten    []string
	checkedFirst bool
	firstSeen    map[*cexpr.Access]bool // firstWrite's answers, by access
	writers      map[string]*writes     // firstWrite's summaries, by file
	useFiles     []string               // the files the uses are in, once checked
	stacks       []*stackObject         // objects on the stack whose shadows go with their scope (stack.go)
	dropper      string                 // the cleanup function that frees them
	id           string
	idValue      uint64 // the id, as a number
	// pinned is set for an id an earlier livepatch of a series chose: its
	// objects may hold a default of its own, so every write allocates
	pinned bool
	// signExtend is what a signed bitfield's setter stores: the value as
	// the field would hold it (sign_extend32(val, width - 1))
	signExtend string
	width      int64  // a bitfield's width, when it is a number
	bitsWhy    string // why a bitfield cannot live in a shadow
	idMacro    string
	typ        string
	ptr        bool   // reached through a pointer accessor
	ctor       string // constructor statement, for ptr members
	mask       string // for unsigned bitfields
	gfps       []string
	frees      []*sites.Free
	allocs     []string
	table      string          // the lock table, for lock members kept in one (no shadow)
	initFn     string          // the table lock's (empty) init function, which upstream's init calls become
	inits      map[string]bool // the files whose init calls become initFn's
	copies     []copySite      // by-value copies of the struct, which carry the shadow
	copier     string          // the function that copies the shadow
	// lifecycle says why the shadow cannot follow the objects (a stack
	// object, a copy kprewrite cannot follow): the member is refused
	// with it once its uses passed their own checks
	lifecycle string
	value     sites.Value // what upstream creation gives the member, for scalars
	creation  string      // why that is not known, when value came from elsewhere
	refNull   string      // where upstream takes a reference through the member: old objects read NULL
	manual    string      // what the engineer must do when Check refuses a use of the member
	// addressed: a scalar whose address a use takes (or that sizeof
	// names): those uses go through the pointer accessor m.Ptr, the
	// others through the getter and setter
	addressed bool
	addrGfps  []string  // where the address is taken, and why it may sleep there
	work      *workPlan // a work item: its init, its owner and its unpatch (work.go)
	workWhy   string    // why a work item cannot be one (work.go)
	addrWhy   string    // why a use that takes the member's address cannot have it
}

// dtorName is the destructor klp_shadow_free and klp_shadow_free_all
// call on the member's shadows.
func (pl *plan) dtorName() string {
	if pl.work != nil {
		return pl.work.dtor
	}
	return "NULL"
}

func run(p *rewrite.Pass) error {
	cands := member.Candidates(p)
	if len(cands) == 0 {
		return nil
	}
	if !p.HasCompiler() {
		for _, m := range cands {
			p.Refuse(m.Entry, "finding the member's uses needs the compiler: give --config")
		}
		return nil
	}
	var plans []*plan
	var ms []*member.Member
	byMember := map[*member.Member]*plan{}
	// the ids in use: the engineer's and the earlier livepatches' (pinned),
	// then each plan's; two members never share one
	taken := map[uint64]string{}
	for k, v := range p.Options.ShadowIDs {
		if o, ok := taken[v]; !ok || k < o {
			taken[v] = k
		}
	}
	for _, e := range p.Entries {
		// members this session already put in shadow variables (the
		// driver runs a strategy member by member)
		var id uint64
		if n, err := fmt.Sscanf(e.Placement, "shadow: id 0x%x", &id); err == nil && n == 1 {
			taken[id] = e.Subject
		}
	}
	// setup plans member m (held by value: a struct whose reads need no
	// shadow) and installs its checks; nil when refused already
	setup := func(m *member.Member, byValue bool) *plan {
		pl := newPlan(p, m, byValue)
		key := m.Key + "." + m.Name
		if owner, ok := taken[pl.idValue]; ok && owner != key {
			if _, explicit := p.Options.ShadowIDs[key]; explicit {
				p.RefuseManual(m.Entry, fmt.Sprintf("its shadow id %s is also %s's", pl.id, owner), "give each member its own --shadow-id")
				return nil
			}
			old := fmt.Sprintf("#define %s\t%sUL", pl.idMacro, pl.id)
			for {
				pl.idValue++ // a derived id that collides moves to the next free one
				if _, ok := taken[pl.idValue]; !ok {
					break
				}
			}
			pl.id = fmt.Sprintf("0x%x", pl.idValue)
			m.Code = strings.Replace(m.Code, old, fmt.Sprintf("#define %s\t%sUL", pl.idMacro, pl.id), 1)
		}
		taken[pl.idValue] = key
		if pl.table != "" {
			if why := nesting(p, m.Name); why != "" {
				p.RefuseManual(m.Entry, "its lock would live in a table of locks shared by objects whose addresses hash alike, and "+why+": two objects in one slot would deadlock",
					"give the lock a shadow variable allocated where the code may sleep, or drop the nesting")
				return nil
			}
		} else {
			if !pl.ptr {
				trackFirstWrites(p, pl)
			}
			copies, why, stacks := lifecycleSites(p, m.Header, member.TagOf(m.Key), m.Name)
			stale := len(stacks) > 0
			if why != "" && !stale {
				copies = nil // refused whatever the reads
			}
			if why == "" && len(copies) > 0 && pl.ptr {
				why = fmt.Sprintf("%s:%d in %s copies the struct by value, and a %s reached through a pointer accessor cannot be copied with it", copies[0].file, copies[0].line, copies[0].fn, pl.typ)
			}
			if why != "" {
				// asked after the uses' own checks: what objects created
				// before the livepatch read is the engineer's first question
				pl.lifecycle = why
				confirm := m.Confirm
				m.Confirm = func() string {
					if confirm != nil {
						if w := confirm(); w != "" {
							return w
						}
					}
					if stale && !pl.ptr {
						// the stack objects' shadows are freed as they go
						// out of scope, where kprewrite can edit their
						// functions
						// (a shadow left behind would be overwritten
						// before any read where every read is written
						// first, but it would stay allocated: every task's
						// stack slots, over the uptime)
						w := stackPlan(p, pl, stacks)
						if w == "" {
							return ""
						}
						return why + "; and its shadow cannot be freed with its scope: " + w
					}
					return why
				}
			}
			if len(copies) > 0 {
				pl.copies = copies
				for _, c := range copies {
					if c.src != "" && pl.copier == "" {
						pl.copier = p.UniqueName(member.TagOf(m.Key) + "_copy_" + m.Name)
						m.Code += copyCode(pl)
					}
				}
			}
		}
		return pl
	}
	for _, m := range cands {
		if pl := setup(m, false); pl != nil {
			plans = append(plans, pl)
			ms = append(ms, m)
			byMember[m] = pl
		}
	}
	applied, refused := member.Apply(p, ms)
	// A struct reached through its pointer accessor where that cannot
	// allocate safely may still be held by value: its reads then need no
	// shadow (an object without one reads the zeroed struct), and only
	// its writes allocate.
	var again []*member.Member
	for _, m := range ms {
		if pl := byMember[m]; refused[m] != "" && pl.ptrWhy != "" && refused[m] == pl.ptrWhy && pl.valueOK {
			m2 := &member.Member{Entry: m.Entry, Change: m.Change, Header: m.Header, Key: m.Key, Name: m.Name}
			if pl2 := setup(m2, true); pl2 != nil {
				pl2.first = m
				again = append(again, m2)
				byMember[m2] = pl2
				plans = append(plans, pl2)
			}
		}
	}
	if len(again) > 0 {
		// the value plan's answer replaces the pointer plan's: applied,
		// or refused for what stands in its way next
		applied2, refused2 := member.Apply(p, again)
		for _, m := range again {
			delete(refused, byMember[m].first)
		}
		applied = append(applied, applied2...)
		maps.Copy(refused, refused2)
	}
	for m, why := range refused {
		if pl := byMember[m]; pl.lifecycle != "" && why == pl.lifecycle {
			p.RefuseManual(m.Entry, why, "keep the member another way, or carry the shadow by hand (klp_shadow_free where a stack object's life ends; klp_shadow_get and a set after each copy)")
			continue
		}
		if pl := byMember[m]; pl.addrWhy != "" && why == pl.addrWhy {
			// the address is the blocker; a default decision alone would
			// meet it again
			manual := "allocate the shadow where the code may sleep before the address is taken (klp_shadow_get_or_alloc with GFP_KERNEL in a caller that sleeps, or at the object's creation), or keep the member another way"
			if pl.manual != "" {
				manual += "; then " + pl.manual
			}
			p.RefuseManual(m.Entry, why, manual)
			continue
		}
		if pl := byMember[m]; pl.manual != "" && (m.CheckRefused || pl.workWhy != "" && why == pl.workWhy) {
			p.RefuseManual(m.Entry, why, pl.manual)
			continue
		}
		p.Refuse(m.Entry, why)
	}
	if len(applied) == 0 {
		return nil
	}
	ok := map[*member.Member]bool{}
	for _, m := range applied {
		ok[m] = true
	}
	var done, tables []*plan
	for _, pl := range plans {
		switch {
		case !ok[pl.m]:
		case pl.table != "":
			tables = append(tables, pl)
		default:
			done = append(done, pl)
		}
	}
	for _, pl := range tables {
		m := pl.m
		p.Resolve(m.Entry, fmt.Sprintf("kept in a static table of %d locks (%s) indexed by a hash of the object's address; %d uses in %s go through %s()",
			1<<TableBits, pl.table, m.Uses, strings.Join(m.Files, ", "), m.Ptr))
		p.Note(rewrite.Finding{File: m.Header, Line: m.Entry.Line, Subject: m.Key + "." + m.Name,
			Reason: "nothing is allocated: the lock is never NULL, lock and unlock find the same lock, objects created before the livepatch lock as new ones do, and the upstream " +
				tableLocks[pl.typ].initFn + "() calls become calls of " + pl.initFn + "(), which does nothing (the table is initialised statically). Objects whose addresses hash alike share a lock: the patched functions never take two of these locks at once (checked in each patched file, calls into other files not followed), so sharing adds contention, not deadlock"})
	}
	if len(done) == 0 {
		return nil
	}
	// Allocation at creation, free before destruction, per struct.
	byStruct := map[string][]*plan{}
	for _, pl := range done {
		byStruct[pl.m.Key] = append(byStruct[pl.m.Key], pl)
	}
	var keys []string
	for k := range byStruct {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lifecycle []lifeNote
	for _, k := range keys {
		lifecycle = append(lifecycle, lifetimes(p, byStruct[k])...)
	}
	callback(p, done)
	for _, pl := range done {
		m := pl.m
		how := fmt.Sprintf("kept in a klp shadow variable (id %s = %s) attached to each object; %d uses in %s", pl.idMacro, pl.id, m.Uses, strings.Join(m.Files, ", "))
		if wp := pl.work; wp != nil {
			how += fmt.Sprintf(" go through %s(), whose constructor initialises the work with %s() and records its object; upstream's %s() becomes %s(), which initialises an existing shadow again; container_of() on the member becomes %s(), the object the shadow records", m.Ptr, wp.fn, wp.init, wp.reinit, wp.owner)
		} else if pl.ptr {
			how += fmt.Sprintf(" go through %s(), whose constructor runs %q", m.Ptr, pl.ctor)
		} else {
			how += fmt.Sprintf(" go through %s()/%s()", m.Getter, m.Setter)
			if pl.addressed {
				how += fmt.Sprintf(" (%s() where the address is taken or sizeof names it)", m.Ptr)
			}
		}
		p.Resolve(m.Entry, how)
		m.Entry.Placement = "shadow: id " + pl.id
		var facts []string
		if wp := pl.work; wp != nil {
			stop := fmt.Sprintf("%s() waits for every pending work (%s) before the shadows are freed, so none runs on freed memory or in an unloaded module", wp.cancelAll, wp.stop)
			if wp.stop == wp.typ.cancel {
				stop += fmt.Sprintf(" (this tree has no %s(): a work function of the livepatch still running at the disable could queue another object's work again after it was cancelled, a window the engineer closes, where the work functions queue one another, by cancelling in passes until none is pending)", wp.typ.disable)
			}
			facts = append(facts, fmt.Sprintf("objects created before the livepatch get the work, initialised with %s(), on first use. A shadow another object left behind at the same address holds an idle work (upstream cancels the work before its object goes, as the member goes with it) and that address as its object, so the next object there finds it as upstream's %s() leaves it. When the livepatch is disabled, %s", wp.fn, wp.init, stop))
		} else if pl.ptr {
			facts = append(facts, "objects created before the livepatch get the member, initialised, on first use")
		} else {
			switch v := pl.value; {
			case v.Decision != "":
				def := v.Expr
				if v.Zero {
					def = zeroOf(pl.typ)
				}
				facts = append(facts, fmt.Sprintf("objects created before the livepatch have no shadow until a patched function writes the member, and %s() gives them %s: the engineer's decision (--existing %q), not proven by kprewrite", m.Getter, def, v.Decision))
			case pl.refNull != "":
				facts = append(facts, fmt.Sprintf("objects created before the livepatch read NULL: upstream takes a reference through the member (%s), which they never took, and with NULL the kernel's NULL-safe hold and put do nothing; every read of it in the patched code passes it to such a call or tests it for NULL first, so they behave as objects upstream made with the member NULL (upstream creation gives it a value of its own: %s)", pl.refNull, orUnknown(v.Evidence)))
			case v.Neutral:
				def := v.Expr
				if v.Zero {
					def = zeroOf(pl.typ)
				}
				late := ""
				if !v.Zero {
					late = fmt.Sprintf("; an object created after the load whose shadow is not allocated with it (zeroed, as upstream's object; see the shadow lifetime notes) reads %s too until a patched function writes the member, and is treated there as the running kernel treats it", def)
				}
				facts = append(facts, fmt.Sprintf("objects created before the livepatch have no shadow until a patched function writes the member, and %s() gives them %s: %s%s (what upstream creation gives the member is not known: %s)", m.Getter, def, v.Evidence, late, orUnknown(pl.creation)))
			case v.Zero:
				facts = append(facts, "objects created before the livepatch read "+zeroOf(pl.typ)+" until a patched function writes the member, and the zero default is proven right: "+v.Evidence)
			case len(v.Replaced) > 0:
				other := ""
				if len(v.Unpaired) > 0 {
					other = fmt.Sprintf("; the reads upstream adds with no old counterpart (%s) read it too", strings.Join(v.Unpaired, ", "))
				}
				facts = append(facts, fmt.Sprintf("objects created before the livepatch have no shadow until a patched function writes the member: %s() computes %s from the object when it is read, what the running kernel's code read where upstream now reads the member (%s); at those places they behave as the running kernel treats them, and the fix's new behaviour there reaches the objects created after the load%s", m.Getter, v.Expr, strings.Join(v.Replaced, ", "), other))
			case v.Expr != "":
				kept := ""
				if len(v.Reads) > 0 {
					kept = fmt.Sprintf("; the compiler found no assignment of ->%s after creation in the patched files, and other files are assumed to make none", strings.Join(v.Reads, ", ->"))
				}
				facts = append(facts, fmt.Sprintf("objects created before the livepatch have no shadow: %s() computes %s from the object, what upstream creation gives it (%s)%s", m.Getter, v.Expr, v.Evidence, kept))
			default:
				facts = append(facts, "objects created before the livepatch read "+zeroOf(pl.typ)+", and the patched code writes the member before each read (on every path, in the reading function or in its callers before they call it); what upstream creation gives it is not known: "+v.Evidence)
			}
		}
		if pl.value.Expr != "" && len(pl.gfps) > 0 {
			again := "the creation value"
			if pl.value.Decision != "" {
				again = "the decided value"
			} else if len(pl.value.Replaced) > 0 || pl.value.Neutral {
				again = "what the running kernel's code read"
			}
			facts = append(facts, "writes allocate the shadow with "+strings.Join(pl.gfps, "; ")+"; if that allocation fails the write is dropped and the getter computes "+again+" again")
		} else if len(pl.gfps) > 0 && pl.ptr {
			facts = append(facts, "uses allocate the shadow with __GFP_NOFAIL where the code may sleep ("+strings.Join(pl.gfps, "; ")+"), so the accessor never returns NULL")
		} else if len(pl.gfps) > 0 {
			facts = append(facts, "writes allocate the shadow with "+strings.Join(pl.gfps, "; ")+"; if that allocation fails the write is dropped and the member reads "+zeroOf(pl.typ))
		}
		if pl.byValue {
			facts = append(facts, fmt.Sprintf("the %s is held by value: reads copy it out of the shadow (%s() gives an object without one %s, allocating nothing), writes copy it in", pl.typ, m.Getter, zeroOf(pl.typ)))
		}
		if len(pl.addrGfps) > 0 {
			facts = append(facts, fmt.Sprintf("the uses that take the member's address go through %s(), which allocates the shadow with GFP_KERNEL | __GFP_NOFAIL where the code may sleep (%s), so the address is never NULL", m.Ptr, strings.Join(pl.addrGfps, "; ")))
		}
		p.Note(rewrite.Finding{File: m.Header, Line: m.Entry.Line, Subject: m.Key + "." + m.Name, Reason: strings.Join(facts, ". ")})
	}
	for _, l := range lifecycle {
		action := "none"
		if l.manual != "" {
			action = l.manual
		}
		p.Note(rewrite.Finding{File: done[0].m.Header, Line: done[0].m.Entry.Line, Subject: "shadow lifetime", Reason: l.reason, Action: action})
	}
	return nil
}

// referenceRE names the kernel's reference-count calls: taking one
// (dev_hold, kref_get, sock_hold, get_device, ...) or dropping one
// (dev_put, kref_put, put_device, ...).
var referenceRE = regexp.MustCompile(`^(\w+_(hold|get|put|get_not_zero|put_and_test|tryget)|get_\w+|put_\w+|kref_\w+|refcount_\w+|__dev_(hold|put)|netdev_(hold|put))$`)

// notReferenceRE are get_/put_ calls that move data, not references.
var notReferenceRE = regexp.MustCompile(`^(get|put)_(user|unaligned\w*|cpu\w*|random\w*)$|^__(get|put)_user$`)

// referenceCall reports whether the access is an argument of a
// reference-count call, and names the call.
func referenceCall(f *ast.File, a *cexpr.Access) (string, bool) {
	if a.Kind != cexpr.Read && a.Kind != cexpr.AddrOf {
		return "", false
	}
	toks := sites.CodeTokens(f)
	k, _, ok := sites.EnclosingParen(toks, sites.TokenAt(toks, a.Full.Off), 60)
	if ok && k > 0 && toks[k-1].Kind == ast.Ident && referenceRE.MatchString(toks[k-1].Text) && !notReferenceRE.MatchString(toks[k-1].Text) {
		return toks[k-1].Text, true
	}
	return "", false
}

// changes reports whether the variable at toks[i] may be changed there:
// assigned (=, op=), incremented or decremented, its address taken,
// declared anew (a declaration shadows it), or handed to an iterator
// macro (list_for_each_entry(pos, ...) assigns pos).
func changes(toks []ast.Token, i int) bool {
	if i+1 < len(toks) {
		switch n := toks[i+1].Text; {
		case n == "++" || n == "--":
			return true
		case n == "=" || len(n) >= 2 && strings.HasSuffix(n, "=") && n != "==" && n != "!=" && n != "<=" && n != ">=":
			return true
		}
	}
	if i+1 < len(toks) && (toks[i+1].Text == "->" || toks[i+1].Text == "." || toks[i+1].Text == "[") {
		return false // "&f->m", "++f->n", "*f->p": what the prefix takes is a member
	}
	if i > 0 {
		switch p := toks[i-1]; {
		case p.Text == "++" || p.Text == "--" || p.Text == "&" && (i < 2 || toks[i-2].Kind != ast.Ident && toks[i-2].Text != ")" && toks[i-2].Text != "]"):
			return true
		case p.Text == "*" || p.Kind == ast.Ident && p.Text != "return" && p.Text != "sizeof" && p.Text != "case":
			return true // "struct frag *f", "int f": a declaration
		case p.Text == "(" || p.Text == ",":
			if open, _, ok := sites.EnclosingParen(toks, i, 0); ok && open > 0 && (strings.Contains(toks[open-1].Text, "for_each") || toks[open-1].Text == "swap") {
				return true
			}
		}
	}
	return false
}

// writtenBefore reports whether the statement "obj->m = ...;" of the
// access's object and member runs on every path to the access in its
// function: a statement of a block the access is in (the function body or
// a block nested in it), before the access, with no label, case or
// default between them (a jump there would skip the write), and no
// assignment of the object's variable between them.
func writtenBefore(f *ast.File, a *cexpr.Access) bool {
	fn := f.FuncAt(a.Full.Off)
	if fn == nil {
		return false
	}
	obj := ast.Tokenize(f.Src[a.Object.Off:a.Object.End])
	if len(obj) == 0 || obj[0].Kind != ast.Ident {
		return false
	}
	for _, t := range obj {
		if t.Text == "(" {
			return false // a call: each evaluation may name another object
		}
	}
	base := obj[0].Text
	op := "."
	if a.Arrow {
		op = "->"
	}
	toks := f.CodeTokens(fn.Body)
	changed := func(i int) bool { return toks[i].Text == base && changes(toks, i) }
	write := func(i int) bool {
		k := i
		for _, t := range obj {
			if k >= len(toks) || toks[k].Text != t.Text {
				return false
			}
			k++
		}
		if k+2 >= len(toks) || toks[k].Text != op || toks[k+1].Text != a.Name || toks[k+2].Text != "=" {
			return false
		}
		for e := k + 3; e < len(toks); e++ {
			if toks[e].Text == ";" {
				return toks[e].End <= a.Full.Off
			}
		}
		return false
	}
	return onEveryPath(toks, a.Full.Off, changed, write)
}

// onEveryPath reports whether a statement write says is one runs on every
// path to off in a function body's tokens: a statement of a block off is
// in (the body or a block nested in it), before off, with no label, case
// or default between them (a jump there would skip it), and no token
// changed says changes the object between them.
func onEveryPath(toks []ast.Token, off int, changed, write func(i int) bool) bool {
	var open []int            // the blocks open at token i, by the index of their '{'
	written := map[int]bool{} // the open blocks a write is a statement of
	parens := 0
	for i := 0; i < len(toks) && toks[i].Off < off; i++ {
		if changed != nil && changed(i) {
			clear(written) // the object's variable may name another object now
			continue
		}
		switch toks[i].Text {
		case "{":
			open = append(open, i)
			continue
		case "}":
			if n := len(open); n > 0 {
				delete(written, open[n-1])
				open = open[:n-1]
			}
			continue
		case "(":
			parens++
			continue
		case ")":
			parens--
			continue
		}
		if parens != 0 || len(open) == 0 || i == 0 || (toks[i-1].Text != ";" && toks[i-1].Text != "{" && toks[i-1].Text != "}") {
			continue
		}
		// a statement starts at i
		if toks[i].Text == "case" || toks[i].Text == "default" || toks[i].Kind == ast.Ident && i+1 < len(toks) && toks[i+1].Text == ":" {
			clear(written) // a jump target: a path that skips the writes
			continue
		}
		if write(i) {
			written[open[len(open)-1]] = true
		}
	}
	return len(written) > 0
}

func zeroOf(typ string) string {
	if sites.Aggregate(typ) {
		return "(" + typ + "){}"
	}
	if strings.HasSuffix(typ, "*") {
		return "NULL"
	}
	if typ == "bool" {
		return "false"
	}
	return "0"
}

var scalarRE = regexp.MustCompile(`^((const |volatile )*(unsigned |signed )?(char|short|int|long|long long|long int|bool|_Bool|[us](8|16|32|64)|__[us](8|16|32|64)|__[bl]e(16|32|64)|u?int(8|16|32|64)_t|size_t|ssize_t|loff_t|pid_t|uid_t|gid_t|ktime_t|time64_t|sector_t|dma_addr_t|phys_addr_t|gfp_t|fmode_t|umode_t|u_int|uint|ulong|unsigned)|enum \w+|.*\*)$`)

func newPlan(p *rewrite.Pass, m *member.Member, byValue bool) *plan {
	decl := m.Change.PostMember
	tag := member.TagOf(m.Key)
	pl := &plan{m: m, typ: member.FullIntType(decl.Type)}
	id := ID(m.Key, m.Name)
	if v, ok := p.Options.ShadowIDs[m.Key+"."+m.Name]; ok {
		id = v
		pl.pinned = true
	}
	pl.id = fmt.Sprintf("0x%x", id)
	pl.idValue = id
	prefix := strings.ToUpper(tag + "_" + m.Name)
	pl.idMacro = prefix + "_SHADOW_ID"
	ctor, known := member.Ctor(pl.typ)
	pl.ptr = len(decl.Array) > 0 || known || !scalarRE.MatchString(pl.typ)
	pl.valueOK = pl.ptr && len(decl.Array) == 0 && !known && sites.Aggregate(pl.typ)
	if byValue && pl.valueOK {
		pl.ptr, pl.byValue = false, true
		m.ValueReads = true
	}
	if len(decl.Array) == 0 {
		pl.ctor = ctor // arrays are zeroed; no constructor
	}
	if decl.IsBitfield() {
		w, ok := member.BitWidth(decl.Bits)
		switch {
		case !ok:
			pl.bitsWhy = fmt.Sprintf("the bitfield's width %q is not a number: what it holds, and so what its shadow must store, is not known", decl.Bits)
		case ast.TypeSpelling(pl.typ) == "char":
			pl.bitsWhy = "a plain char bitfield is signed or not by the kernel's -funsigned-char (6.2 on, and other architectures): what its shadow must store is not known; declare it signed char or unsigned char"
		case w < 64:
			pl.width = w
			if ast.SignedType(pl.typ) {
				// a signed bitfield reads its top bit as the sign: the
				// shadow keeps what the field would, sign-extended
				pl.signExtend = fmt.Sprintf("sign_extend64(val, %d)", w-1)
				if w <= 32 {
					pl.signExtend = fmt.Sprintf("sign_extend32(val, %d)", w-1)
				}
			} else {
				pl.mask = fmt.Sprintf("0x%x", uint64(1)<<uint(w)-1)
			}
		}
	}
	m.Includes = []string{"linux/livepatch.h"}
	if pl.signExtend != "" {
		m.Includes = append(m.Includes, "linux/bitops.h") // sign_extend32()
	}
	gfpOf := func(file string, a *cexpr.Access) string {
		g, why := gfpAt(p, p.Parse(file), a.Full.Off)
		note := fmt.Sprintf("%s at %s:%d (%s)", g, file, a.Line, why)
		if !slices.Contains(pl.gfps, note) {
			pl.gfps = append(pl.gfps, note)
		}
		return ", " + g
	}
	if _, ok := tableLocks[pl.typ]; ok && len(decl.Array) == 0 {
		m.Ptr = p.UniqueName(tag + "_" + m.Name + "_ptr")
		pl.table = p.UniqueName(tableName(m))
		m.Includes = []string{"linux/hash.h"}
		pl.initFn = p.UniqueName(tag + "_" + m.Name + "_init")
		m.Replace = replaceInit(pl)
		m.Check = initCheck(p, pl)
		m.CodeFor = func(f string) string { return tableCode(pl, f) }
		m.Code = tableCode(pl, "")
		return pl
	}
	if pl.ptr {
		m.Ptr = p.UniqueName(tag + "_" + m.Name + "_ptr")
		// A pointer accessor must never return NULL: allocate where the
		// code may sleep, with __GFP_NOFAIL; a use where it may not is
		// refused (a list head or a wait queue has no safe stand-in).
		pl.manual = "allocate the shadow (klp_shadow_alloc) where the object is created and where the code may sleep before this use, or keep the member another way"
		m.Check = func(file string, a *cexpr.Access) string {
			g, why := gfpAt(p, p.Parse(file), a.Full.Off)
			if g == "GFP_KERNEL" {
				return ""
			}
			pl.ptrWhy = fmt.Sprintf("at %s:%d the shadow of an object created before the livepatch would be allocated with %s (%s), which can fail, and a %s has no safe value without it", file, a.Line, g, why, pl.typ)
			return pl.ptrWhy
		}
		m.PtrArgs = func(file string, a *cexpr.Access) string {
			gfpOf(file, a)
			return ", GFP_KERNEL | __GFP_NOFAIL"
		}
		if wt, ok := workTypes[pl.typ]; ok && len(decl.Array) == 0 {
			wp, why := planWork(p, pl, wt)
			manual := "initialise the work of objects created before the livepatch (a shadow constructor that runs the work's init) and get back to the object from it (a pointer in the shadow), or keep the member another way"
			if _, pinned := p.Options.ShadowIDs[m.Key+"."+m.Name]; pinned && why == "" {
				// a cumulative step, or an id the engineer shares
				why = "its shadow id is pinned (an earlier livepatch of the series, or --shadow-id): the shadows that livepatch made hold its module's work function and list, and atomic replace runs none of its callbacks, so its pending works would outlive its module"
				manual = "in this livepatch's pre-patch callback, cancel each work the earlier livepatch's shadows hold and initialise it with this module's function, or disable the earlier livepatch instead of replacing it"
			}
			if why != "" {
				pl.manual, pl.workWhy = manual, why
				m.Check = func(string, *cexpr.Access) string { return why }
				m.Macro = func(oracle.Use) ([]edit.Edit, string) { return nil, why }
			} else {
				pl.work = wp
				m.Includes = append(m.Includes, "linux/list.h", "linux/spinlock.h", "linux/workqueue.h")
				m.Check = workCheck(p, pl, m.Check)
				m.Confirm = func() string {
					if wp.initUses == 0 {
						return fmt.Sprintf("the compiler finds no %s(&obj->%s, %s) of this struct in the patched code (the one kprewrite read in %s initialises another object): objects created before the livepatch would need a work function kprewrite does not know", wp.init, m.Name, wp.fn, wp.file)
					}
					return ""
				}
				m.Replace = workReplace(p, pl)
				m.Macro = workMacro(p, pl)
			}
		}
	} else {
		m.Getter = p.UniqueName(tag + "_get_" + m.Name)
		m.Setter = p.UniqueName(tag + "_set_" + m.Name)
		m.SetArgs = gfpOf
		pl.value = sites.CreationValue(p, m.Header, tag, m.Name)
		if held := ""; !pl.value.Zero && pl.value.Decision == "" && strings.HasSuffix(pl.typ, "*") && len(decl.Array) == 0 {
			if held = referenceHeld(p, m); held != "" {
				// NULL is the one value right for objects that took no
				// reference (refs.go)
				pl.refNull = held
				pl.value = sites.Value{Evidence: pl.value.Evidence}
				refNullCheck(p, m)
				pl.manual = "decide what objects created before the livepatch must read: NULL needs every read to test it (or pass it to a NULL-safe call); otherwise take the reference for each of them in a pre-patch callback"
			}
		}
		if pl.refNull != "" {
			// decided above
		} else if pl.value.Expr != "" {
			// a value computed later for an object that has none must not
			// stand for a reference upstream creation took
			m.Check = func(file string, a *cexpr.Access) string {
				call, ok := referenceCall(p.Parse(file), a)
				if !ok {
					return ""
				}
				return fmt.Sprintf("%s:%d passes the member to %s(): upstream takes or drops a reference through it; objects created before the livepatch took none, so a value computed for them (%s) would unbalance the count", file, a.Line, call, pl.value.Expr)
			}
			pl.manual = "decide what objects created before the livepatch must read: NULL when they hold no reference (every read must then tolerate it), or take the reference for each of them in a pre-patch callback"
		}
		switch {
		case !pl.value.Known() && pl.refNull == "":
			pl.manual = "decide what objects created before the livepatch must read (a getter default computed from the object, or a pre-patch callback that sets it), or accept that they read " + zeroOf(pl.typ)
			replacedValue(p, pl, decl, false)
		case pl.value.Later != "" && pl.value.Decision == "" && pl.refNull == "":
			// upstream writes it after creation too: where a read stands
			// for what the running kernel read, objects that passed the
			// write before the load read that, not the creation value
			if pl.manual == "" {
				pl.manual = "decide what objects created before the livepatch must read (a getter default computed from the object, or a pre-patch callback that sets it)"
			}
			check := m.Check // the reference check of a computed value
			replacedValue(p, pl, decl, true)
			if check != nil {
				reads := m.Check
				m.Check = func(file string, a *cexpr.Access) string {
					if why := check(file, a); why != "" {
						return why
					}
					return reads(file, a)
				}
			}
		}
	}
	if !pl.ptr && !decl.IsBitfield() {
		addressUses(p, pl, decl) // a bitfield has no address
	}
	if pl.bitsWhy != "" {
		m.Check = func(string, *cexpr.Access) string { return pl.bitsWhy }
		pl.manual = "keep the member another way (a whole member of a declared signedness and a numeric width can live in a shadow)"
	}
	m.Code = accessors(pl, decl)
	return pl
}

// addressUses lets a scalar member's address be taken ("&obj->m" passed
// to a call that fills it, "sizeof(obj->m)"): such uses go through a
// pointer accessor that allocates the shadow, initialised to what the
// getter gives an object without one, with __GFP_NOFAIL where the code
// may sleep; one where it may not refuses the member (a pointer has no
// stand-in). The other uses keep the getter and the setter.
func addressUses(p *rewrite.Pass, pl *plan, decl *ast.Member) {
	m := pl.m
	m.Ptr = p.UniqueName(member.TagOf(m.Key) + "_" + m.Name + "_ptr")
	m.SizeType = pl.typ
	m.PtrUses = func(a *cexpr.Access) bool {
		// a struct held by value: any other use of its storage too
		return (a.Kind == cexpr.AddrOf && (a.Chained == "" || pl.byValue)) || a.Kind == cexpr.SizeOf
	}
	check, confirm := m.Check, m.Confirm
	m.Check = func(file string, a *cexpr.Access) string {
		if check != nil {
			if why := check(file, a); why != "" {
				return why
			}
		}
		if !m.PtrUses(a) {
			return ""
		}
		f := p.Parse(file)
		if a.Kind == cexpr.SizeOf {
			if kw := sizeofWord(f, a); kw != "sizeof" && kw != "typeof" && kw != "__typeof__" {
				return fmt.Sprintf("%s:%d: %s() names the member: its offset is taken, so the member must live inside the object", file, a.Line, kw)
			}
			pl.addressed = true
			return ""
		}
		if g, why := gfpAt(p, f, a.Full.Off); g != "GFP_KERNEL" {
			pl.addrWhy = fmt.Sprintf("%s:%d takes the member's address: its shadow would be allocated there with %s (%s), which can fail, and the address has no stand-in", file, a.Line, g, why)
			return pl.addrWhy
		}
		pl.addressed = true
		return ""
	}
	m.Confirm = func() string {
		if confirm != nil {
			if why := confirm(); why != "" {
				return why
			}
		}
		if pl.addressed {
			pl.addressed = false
			before := accessors(pl, decl)
			pl.addressed = true
			if !strings.Contains(m.Code, before) {
				return "kprewrite could not add the pointer accessor to the member's accessors"
			}
			m.Code = strings.Replace(m.Code, before, accessors(pl, decl), 1)
		}
		return ""
	}
	m.PtrArgs = func(file string, a *cexpr.Access) string {
		if a.Kind == cexpr.AddrOf {
			g, why := gfpAt(p, p.Parse(file), a.Full.Off)
			note := fmt.Sprintf("%s:%d (%s)", file, a.Line, why)
			if g != "GFP_KERNEL" {
				note += ", " + g // refused by Check before this is asked
			}
			if !slices.Contains(pl.addrGfps, note) {
				pl.addrGfps = append(pl.addrGfps, note)
			}
		}
		return ", GFP_KERNEL | __GFP_NOFAIL"
	}
}

// sizeofWord is the keyword whose parentheses hold a SizeOf access:
// sizeof, typeof, __typeof__, offsetof, ...
func sizeofWord(f *ast.File, a *cexpr.Access) string {
	toks := sites.CodeTokens(f)
	k, _, ok := sites.EnclosingParen(toks, sites.TokenAt(toks, a.Full.Off), 0)
	if !ok || k == 0 {
		return ""
	}
	return toks[k-1].Text
}

// replacedValue sets the Check and Confirm of a scalar member whose
// creation value is not known: the reads no write precedes need a value
// for objects created before the livepatch, and the one kprewrite can
// prove is what the running kernel's code read where upstream now reads
// the member (sites.Replaced); with it the accessors are rendered again.
//
// later is set for a creation value upstream also writes after creation
// (sites.Value.Later): it stays when every read is new code, and the
// compiler is not asked for a neutral value.
func replacedValue(p *rewrite.Pass, pl *plan, decl *ast.Member, later bool) {
	m := pl.m
	var reads, all []sites.Use
	m.Check = func(file string, a *cexpr.Access) string {
		all = append(all, sites.Use{File: file, Access: a})
		if a.Kind == cexpr.Assign || a.Kind == cexpr.Designator || a.Kind == cexpr.SizeOf || pl.firstWrite(p, file, a) {
			return ""
		}
		if _, ok := sites.OutputArgument(p.Parse(file), a); ok {
			// the callee stores into the member: a write
			return ""
		}
		reads = append(reads, sites.Use{File: file, Access: a})
		return ""
	}
	m.Confirm = func() string {
		if len(reads) == 0 {
			return ""
		}
		v := sites.Replaced(p, m.Header, m.Name, reads)
		if later {
			if why := sites.LaterRead(p, m.Header, m.Name, pl.value, reads); why == "" {
				return "" // the creation value stands
			} else if !v.Known() {
				return "objects created before the livepatch would read " + zeroOf(pl.typ) + ": " + why
			}
		}
		// a computed value must not stand for a reference upstream
		// creation took: asked before the compiler is
		for _, u := range all {
			if call, ok := referenceCall(p.Parse(u.File), u.Access); ok {
				if !v.Known() {
					return fmt.Sprintf("%s:%d passes the member to %s(): upstream takes or drops a reference through it, and what upstream creation gives the member is not known: %s", u.File, u.Access.Line, call, pl.value.Evidence)
				}
				return fmt.Sprintf("%s:%d passes the member to %s(): upstream takes or drops a reference through it; objects created before the livepatch took none, so a value computed for them (%s) would unbalance the count", u.File, u.Access.Line, call, v.Expr)
			}
		}
		if !v.Known() {
			n := sites.Value{Evidence: "the member is a bitfield of 64 bits or more: the compiler is not asked"}
			// a bitfield's candidates are the values its width holds,
			// which the getter's mask gives back unchanged
			if cands, ok := widthCandidates(pl, decl); ok {
				var err error
				// the compiler sees each read as the getter's type, which
				// for a narrow bitfield is int (what C promotes it to)
				if n, err = sites.NeutralAmong(p, m.Header, getterType(pl, decl), reads, cands); err != nil {
					// a failure of the environment, recorded: the run stops
					return "the compiler could not answer what objects created before the livepatch may read: " + err.Error()
				}
			}
			if n.Known() {
				v = n
			} else {
				u := reads[0]
				why := pl.value.Evidence
				for _, e := range []string{v.Evidence, n.Evidence} {
					if e != "" {
						why += "; " + e
					}
				}
				return fmt.Sprintf("objects created before the livepatch would read %s at %s:%d, but what upstream creation gives the member is not known: %s", zeroOf(pl.typ), u.File, u.Access.Line, why)
			}
		}
		// m.Code was rendered before any use was seen to take the
		// member's address: render it the same way, and leave the pointer
		// accessor to addressUses, whose Confirm runs after this one
		addressed := pl.addressed
		defer func() { pl.addressed = addressed }()
		pl.addressed = false
		before := accessors(pl, decl)
		if !strings.Contains(m.Code, before) {
			return "kprewrite could not render the accessors again with the value objects created before the livepatch read (" + v.Expr + ")"
		}
		pl.creation = pl.value.Evidence
		pl.value = v
		m.Code = strings.Replace(m.Code, before, accessors(pl, decl), 1)
		return ""
	}
}

// widthCandidates are the constants the compiler tries for a member's
// neutral value: the type's for a whole member (nil: Neutral's own), and
// for an unsigned bitfield 0, 1 and the largest value its width holds
// (the getter masks what it gives, so a wider constant would not be what
// objects read); false for a signed bitfield.
func widthCandidates(pl *plan, decl *ast.Member) ([]string, bool) {
	if !decl.IsBitfield() {
		return sites.Candidates(pl.typ), true
	}
	if pl.signExtend != "" {
		// the values a signed width holds: 0 and -1, and 1 from two bits
		if decl.Bits == "1" {
			return []string{"0", "-1"}, true
		}
		return []string{"0", "1", "-1"}, true
	}
	if pl.mask == "" {
		return nil, false // too wide to mask
	}
	cands := []string{"0", "1"}
	if pl.mask != "0x1" {
		cands = append(cands, pl.mask)
	}
	return cands, true
}

// accessors renders the shadow id and the accessors of a member.
func accessors(pl *plan, decl *ast.Member) string {
	m := pl.m
	tag := member.TagOf(m.Key)
	var b strings.Builder
	dims := ""
	for _, d := range decl.Array {
		dims += "[" + d + "]"
	}
	b.WriteString(gen.Comment("", append([]string{fmt.Sprintf("%s: %s.%s in a shadow variable.", gen.Banner, m.Key, m.Name)},
		gen.Wrap(fmt.Sprintf(gen.Generated+" %s has no %s in the running kernel and must keep its layout: the member lives in a klp shadow variable attached to each object (the id derives from the struct and member names, so a later cumulative livepatch finds the same shadows).",
			m.Key, m.Name), 76)...)...))
	fmt.Fprintf(&b, "#define %s\t%sUL\n\n", pl.idMacro, pl.id)
	if pl.work != nil {
		return workCode(pl)
	}
	if pl.ptr {
		vt := pl.typ + " *"
		if dims != "" {
			vt = pl.typ + " (*)" + dims
		}
		ctorName := "NULL"
		if pl.ctor != "" {
			ctorName = tag + "_" + m.Name + "_ctor"
			fmt.Fprintf(&b, "static int %s(void *obj, void *shadow_data, void *ctor_data)\n{\n", ctorName)
			fmt.Fprintf(&b, "\t%sv = shadow_data;\n\n\t%s\n\treturn 0;\n}\n\n", ptrRet(vt), pl.ctor)
		}
		fmt.Fprintf(&b, "static inline %s%s(const %s *s, gfp_t gfp)\n{\n", ptrRet(vt), m.Ptr, m.Key)
		fmt.Fprintf(&b, "\treturn klp_shadow_get_or_alloc((void *)s, %s,\n\t\t\t\t       sizeof(%s%s), gfp, %s, NULL);\n}\n", pl.idMacro, pl.typ, dims, ctorName)
		return b.String()
	}
	ret := getterType(pl, decl)
	vp := pl.typ + " *"
	if strings.HasSuffix(pl.typ, "*") {
		vp = pl.typ + "*"
	}
	fmt.Fprintf(&b, "static inline %s(const %s *s)\n{\n", declare(ret, m.Getter), m.Key)
	fmt.Fprintf(&b, "\t%sv = klp_shadow_get((void *)s, %s);\n\n", vp, pl.idMacro)
	def := zeroOf(pl.typ)
	if e := pl.value.Expr; e != "" {
		def = "(" + e + ")"
		if len(ast.Tokenize([]byte(e))) == 1 {
			def = e
		}
		if pl.mask != "" {
			def = "(" + e + ") & " + pl.mask
			if n, err := strconv.ParseUint(e, 0, 64); err == nil {
				if mk, err := strconv.ParseUint(pl.mask, 0, 64); err == nil {
					def = fmt.Sprint(n & mk) // a constant the width holds, as it is
				}
			}
		}
		if pl.signExtend != "" {
			// what the field would hold: 1 in a one-bit int reads -1
			def = strings.Replace(pl.signExtend, "val", "("+e+")", 1)
			if n, err := strconv.ParseInt(strings.Trim(e, "()"), 0, 64); err == nil && pl.width > 0 {
				shift := 64 - uint(pl.width)
				if v := n << shift >> shift; v < 0 {
					def = fmt.Sprintf("(%d)", v)
				} else {
					def = fmt.Sprint(v)
				}
			}
		}
		if len(pl.value.Replaced) > 0 && !isConstantExpr(e) {
			// the expression stood where the member stands now: the
			// compiler proves it has the member's type
			fmt.Fprintf(&b, "\tBUILD_BUG_ON(!__same_type(%s, *v));\n", e)
		}
	}
	fmt.Fprintf(&b, "\treturn v ? *v : %s;\n}\n\n", def)
	head := fmt.Sprintf("static inline void %s(", m.Setter)
	params := fmt.Sprintf("%s *s, %s, gfp_t gfp)", m.Key, declare(strings.TrimSpace(pl.typ), "val"))
	if len(head)+len(params) > 100 {
		// checkpatch's limit: the later parameters under the first
		col := len(head)
		params = strings.Replace(params, ", ", ",\n"+strings.Repeat("\t", col/8)+strings.Repeat(" ", col%8), 1)
	}
	fmt.Fprintf(&b, "%s%s\n{\n", head, params)
	val := "val"
	if pl.mask != "" {
		val = "val & " + pl.mask
	}
	if pl.signExtend != "" {
		val = pl.signExtend
	}
	if constantDefault(def) && !pl.pinned {
		// a write of what the getter gives an object with no shadow
		// allocates nothing: a hot path that mostly writes the default
		// (every task's exit) takes no lock and makes no allocation
		cmp := val
		if pl.mask != "" {
			cmp = "(" + val + ")"
		}
		if strings.ContainsAny(def, " ") {
			def = "(" + def + ")"
		}
		fmt.Fprintf(&b, "\t%sv = klp_shadow_get(s, %s);\n\n", vp, pl.idMacro)
		test := cmp + " == " + def
		switch def {
		case "false", "NULL":
			test = "!" + cmp
		case "true":
			test = cmp
		}
		fmt.Fprintf(&b, "\tif (!v) {\n\t\tif (%s)\n\t\t\treturn; /* what the getter gives */\n", test)
		b.WriteString(gen.Call("\t\t", "v = klp_shadow_get_or_alloc", []string{"s", pl.idMacro, "sizeof(*v)", "gfp", "NULL", "NULL"}, ";") + "\n")
		fmt.Fprintf(&b, "\t\tif (!v)\n\t\t\treturn;\n\t}\n\t*v = %s;\n}\n", val)
	} else {
		head := "\t" + vp + "v = klp_shadow_get_or_alloc("
		col := 8 + len(head) - 1
		fmt.Fprintf(&b, "%ss, %s, sizeof(*v),\n%s%sgfp, NULL, NULL);\n\n", head, pl.idMacro, strings.Repeat("\t", col/8), strings.Repeat(" ", col%8))
		fmt.Fprintf(&b, "\tif (v)\n\t\t*v = %s;\n}\n", val)
	}
	if pl.addressed {
		// a new shadow starts as what the getter gave the object
		ctorName := "NULL"
		if def != zeroOf(pl.typ) {
			ctorName = p2(m.Ptr, "_ctor")
			fmt.Fprintf(&b, "\nstatic int %s(void *obj, void *shadow_data, void *ctor_data)\n{\n", ctorName)
			if slices.ContainsFunc(ast.Tokenize([]byte(def)), func(t ast.Token) bool { return t.Text == "s" }) {
				fmt.Fprintf(&b, "\tconst %s *s = obj;\n", m.Key)
			}
			fmt.Fprintf(&b, "\t%sv = shadow_data;\n\n\t*v = %s;\n\treturn 0;\n}\n", vp, def)
		}
		fmt.Fprintf(&b, "\nstatic inline %s%s(const %s *s, gfp_t gfp)\n{\n", vp, m.Ptr, m.Key)
		fmt.Fprintf(&b, "\treturn klp_shadow_get_or_alloc((void *)s, %s,\n\t\t\t\t       sizeof(%s), gfp, %s, NULL);\n}\n", pl.idMacro, pl.typ, ctorName)
	}
	return b.String()
}

// constantDefault reports whether a getter's default is a constant the
// same for every object and task (a number, NULL, false, true, a type's
// maximum such as U32_MAX), which a setter can compare a value with. An
// upper-case name may still depend on the task (TASK_SIZE): only the
// types' limits are taken.
func constantDefault(def string) bool {
	d := strings.TrimSpace(def)
	for strings.HasPrefix(d, "(") && strings.HasSuffix(d, ")") {
		d = strings.TrimSpace(d[1 : len(d)-1])
	}
	switch d {
	case "NULL", "false", "true":
		return true
	}
	if limitRE.MatchString(d) {
		return true
	}
	_, err := strconv.ParseInt(strings.TrimRight(d, "uUlL"), 0, 64)
	if err != nil {
		_, err = strconv.ParseUint(strings.TrimRight(d, "uUlL"), 0, 64)
	}
	return err == nil
}

// limitRE matches the kernel's type limits (U32_MAX, S16_MIN, ULONG_MAX,
// SIZE_MAX, INT_MAX, ...).
var limitRE = regexp.MustCompile(`^-?(?:[US](?:8|16|32|64)|U?(?:CHAR|SHRT|INT|LONG|LLONG)|SIZE|SSIZE|PHYS_ADDR)_(?:MAX|MIN)$`)

// getterType is the type the getter of a member returns: the member's,
// or for a bitfield what C promotes a read of it to.
func getterType(pl *plan, decl *ast.Member) string {
	if !decl.IsBitfield() {
		return pl.typ
	}
	if w, ok := member.BitWidth(decl.Bits); ok {
		return member.ReadType(pl.typ, w)
	}
	return pl.typ
}

// p2 joins a name and a suffix ("conn_port_ptr" and "_ctor").
func p2(name, suffix string) string { return strings.TrimSuffix(name, "_ptr") + suffix }

// declare writes a declaration of name with type typ in kernel style:
// "u32 val", "struct net_device *val".
func declare(typ, name string) string {
	typ = strings.TrimSpace(typ)
	if strings.HasSuffix(typ, "*") {
		return typ + name
	}
	return typ + " " + name
}

func ptrRet(vt string) string {
	if strings.HasSuffix(vt, "*") {
		return vt
	}
	return vt + " "
}

// gfpAt chooses the gfp for an allocation at off: GFP_KERNEL where the
// code may sleep (package sleep), GFP_ATOMIC otherwise, and why.
func gfpAt(p *rewrite.Pass, f *ast.File, off int) (string, string) {
	v := sleep.At(f, off, p.IncludedHeaders(f.Name)...)
	return v.GFP(), v.Why
}

// lifeNote is a report line of lifetimes: a fact, or work for the
// engineer when manual is set (the action).
type lifeNote struct {
	reason, manual string
}

// freeByHand is the engineer's step for a free kprewrite cannot handle.
const freeByHand = "manual: free the shadow (klp_shadow_free) before each free the report lists as not handled"

func fact(reason string) lifeNote { return lifeNote{reason: reason} }

func work(reason string) lifeNote { return lifeNote{reason: reason, manual: freeByHand} }

// lifetimes inserts shadow allocation at creation sites and shadow free
// before frees, and returns the report lines.
func lifetimes(p *rewrite.Pass, pls []*plan) []lifeNote {
	m0 := pls[0].m
	tag := member.TagOf(m0.Key)
	out := stackFrees(p, pls)
	// frees
	frees, method, err := sites.Frees(p, m0.Header, tag)
	if err == nil {
		var pdus []lifeNote
		frees, pdus = pduFrees(p, m0.Header, tag, frees)
		out = append(out, pdus...)
	}
	// stale: some object may be freed with its shadow left behind, for
	// the next object at the same address to find
	stale := err != nil
	if err != nil {
		out = append(out, work(fmt.Sprintf("frees of struct %s were not searched: %v", tag, err)))
	} else {
		var handled, missed []string
		byFile := map[string][]*sites.Free{}
		for _, fr := range frees {
			if fr.Stmt < 0 || fr.Arg == "" {
				missed = append(missed, fmt.Sprintf("%s:%d (%s, not a plain statement)", fr.File, fr.Line, fr.Call))
				continue
			}
			byFile[fr.File] = append(byFile[fr.File], fr)
		}
		for f, frs := range byFile {
			pf := p.Parse(f)
			for _, fr := range frs {
				indent := indentAt(pf.Src, fr.Stmt)
				var stmts strings.Builder
				for _, pl := range pls {
					fmt.Fprintf(&stmts, "klp_shadow_free(%s, %s, %s);\n%s", fr.Arg, pl.idMacro, pl.dtorName(), indent)
				}
				p.Edit(edit.Edit{File: f, Off: fr.Stmt, End: fr.Stmt, Text: stmts.String(), Why: "free the shadow first", Hazard: only(pls)})
				if fr.Body {
					// "if (x)\n\t\tkfree(c);": both statements stay under the condition
					p.Edit(edit.Edit{File: f, Off: fr.Open, End: fr.Open, Text: " {", Why: "free the shadow first", Hazard: only(pls)})
					p.Edit(edit.Edit{File: f, Off: fr.End, End: fr.End, Text: "\n" + strings.TrimSuffix(indent, "\t") + "}", Why: "free the shadow first", Hazard: only(pls)})
				}
				handled = append(handled, fmt.Sprintf("%s:%s", f, fr.Fn))
			}
			ensureInclude(p, f, pls)
		}
		sort.Strings(handled)
		stale = len(handled) == 0 || len(missed) > 0
		line := fmt.Sprintf("shadows are freed before the object at %s; found by %s", orNone(handled), method)
		if len(missed) > 0 {
			out = append(out, work(line+"; not handled: "+strings.Join(missed, ", ")))
		} else {
			out = append(out, fact(line))
		}
	}
	// copies carry the shadow
	for _, pl := range pls {
		for _, c := range pl.copies {
			f := p.Parse(c.file)
			g, _ := gfpAt(p, f, c.end-1)
			p.Edit(edit.Edit{File: c.file, Off: c.end, End: c.end, Text: copyCall(pl, c, indentAt(f.Src, c.end-1), g), Why: "the copy carries the shadow", Hazard: only(pls)})
			ensureInclude(p, c.file, pls)
			if c.src == "" {
				out = append(out, fact(fmt.Sprintf("the compound literal assigned at %s:%d in %s zeroes %s: the shadow is dropped after it", c.file, c.line, c.fn, pl.m.Name)))
			} else {
				out = append(out, fact(fmt.Sprintf("the copy at %s:%d in %s carries the shadow of %s (%s(), %s)", c.file, c.line, c.fn, pl.m.Name, pl.copier, g)))
			}
		}
	}
	// allocation at creation
	res, err := sites.Find(p, m0.Header, tag)
	if err != nil {
		line := fmt.Sprintf("creation sites were not searched (%v): shadows are allocated on first write instead", err)
		if stale {
			out = append(out, work(line+", and a shadow a freed object left behind would be found by the next object at its address"))
		} else {
			out = append(out, fact(line))
		}
		return out
	}
	// a work's shadow is allocated on first use, by its pointer accessor,
	// whose constructor initialises the work; one left behind is idle
	// (work.go)
	creators := slices.DeleteFunc(slices.Clone(pls), func(pl *plan) bool { return pl.work != nil })
	if len(creators) == 0 {
		return append(out, fact("the work's shadow is allocated where a patched function first uses the work (its constructor initialises it), not where the object is created; a shadow an object left behind holds an idle work and that object's address, which the next object there has"))
	}
	var done, unhandled, embedded []string
	var names []string
	for _, pl := range pls {
		names = append(names, pl.m.Name)
	}
	first := !slices.ContainsFunc(pls, func(pl *plan) bool { return !pl.readsWrittenFirst() })
	for _, st := range res.Sites {
		if st.Kind == sites.Embedded && first {
			out = append(out, fact(fmt.Sprintf("%s: objects of the struct live inside others whose frees are not known, so a new one may find the shadow a freed one left behind; every read of %s follows a write of it on every path (found through the patched functions and their callers), so that write stores into the shadow left behind before anything reads it (each stays allocated until then, or until the livepatch is disabled)", st, strings.Join(names, ", "))))
			continue
		}
		if st.Kind == sites.Embedded {
			// its container's frees are never among the struct's own
			// (kfree(owner) frees &owner->stat): a new container at a freed
			// one's address finds the shadow left behind
			if ok, where := sites.ContainerWrites(p, st, names); ok {
				out = append(out, fact(fmt.Sprintf("%s: objects of the struct live inside others whose frees are not known, so a new one may find the shadow a freed one left behind; every creation path assigns %s unconditionally (%s), overwriting it before any use (each shadow left behind stays allocated until then, or until the livepatch is disabled)", st, strings.Join(names, ", "), where)))
			} else if did, why := containerFrees(p, st, pls); why == "" {
				out = append(out, fact(did))
			} else {
				embedded = append(embedded, fmt.Sprintf("%s: %s; %s", st, where, why))
			}
			continue
		}
		if st.Kind == sites.Private {
			// made by a subsystem's allocator, reached through its accessor:
			// kprewrite does not add the shadow's allocation there
			unhandled = append(unhandled, fmt.Sprintf("%s:%d in %s (%s)", st.File, st.Line, st.Fn, st.Alloc))
			continue
		}
		if st.Kind != sites.Heap || st.Unfit != "" {
			continue
		}
		pt, why := allocPoint(p, st)
		if why != "" {
			unhandled = append(unhandled, why)
			continue
		}
		v, gfp := pt.v, pt.gfp
		text := pt.block(func(b *strings.Builder, in string) {
			for _, pl := range creators {
				if stale {
					// a freed object's shadow, found by a new one at its address
					fmt.Fprintf(b, "\n%sif (klp_shadow_get(%s, %s))\n%s\tklp_shadow_free(%s, %s, %s);", in, v, pl.idMacro, in, v, pl.idMacro, pl.dtorName())
				}
				size := "sizeof(" + pl.typ + ")"
				ctor := "NULL"
				if pl.ptr && pl.ctor != "" {
					ctor = tag + "_" + pl.m.Name + "_ctor"
				}
				call := fmt.Sprintf("klp_shadow_alloc(%s, %s, %s, %s, %s, NULL);", v, pl.idMacro, size, gfp, ctor)
				if len(in)*8+len(call) > 100 {
					call = fmt.Sprintf("klp_shadow_alloc(%s, %s, %s,\n%s\t\t %s, %s, NULL);", v, pl.idMacro, size, in, gfp, ctor)
				}
				fmt.Fprintf(b, "\n%s%s", in, call)
			}
		})
		p.Edit(edit.Edit{File: st.File, Off: pt.at, End: pt.at, Text: text, Why: "allocate the shadow with the object", Hazard: only(pls)})
		ensureInclude(p, st.File, pls)
		done = append(done, fmt.Sprintf("%s:%s (%s)", st.File, st.Fn, gfp))
	}
	if len(done) > 0 {
		out = append(out, fact("shadows are allocated with the object at "+strings.Join(done, ", ")+"; found by "+res.Method))
		if stale {
			out = append(out, fact("not every free of the object is known, so where it is created a shadow an earlier object at the same address left behind is freed first (klp_shadow_get, then klp_shadow_free): a new object never reads an old one's value"))
		}
	}
	if len(embedded) > 0 {
		out = append(out, lifeNote{reason: "objects of the struct live inside others whose frees are not known, and kprewrite cannot show that their creation overwrites a shadow a freed one left behind (" + strings.Join(embedded, "; ") + "): the next object at a freed one's address would read its value",
			manual: "manual: free the shadow (klp_shadow_free) where the object that embeds the struct is freed, or assign the member where it is created"})
	}
	if stale && len(unhandled) > 0 && first {
		out = append(out, fact("not every free of the object is known, and kprewrite cannot add the shadow's allocation where the object is created at "+strings.Join(unhandled, ", ")+"; a shadow a freed object left behind is written before anything reads it (every read follows a write on every path), and stays allocated until then, or until the livepatch is disabled"))
	} else if stale && len(unhandled) > 0 {
		out = append(out, work("not every free of the object is known, and kprewrite cannot add the shadow's allocation where the object is created at "+strings.Join(unhandled, ", ")+" (not a plain \"v = alloc(...);\", or a subsystem's allocator): a shadow a freed object left behind would be found by the next object at its address"))
	}
	return out
}

// allocAt is where code can follow an allocation: after the statement
// "v = alloc(...);" (after the declarations when it is one) and after the
// "if (!v) return ...;" that checks it, when there is one (guarded).
type allocAt struct {
	at      int
	v, gfp  string
	indent  string
	decl    bool
	guarded bool
}

// allocPoint finds where code can follow a heap creation site, or says
// why not ("file:line in fn (...)").
func allocPoint(p *rewrite.Pass, st *sites.Site) (allocAt, string) {
	f := p.Parse(st.File)
	stmtEnd, v, gfp, decl := -1, "", "", false
	off := sites.Locate(f, st)
	if off >= 0 {
		stmtEnd, v, gfp, decl = allocStatement(f, off)
	}
	if stmtEnd < 0 || v == "" {
		return allocAt{}, fmt.Sprintf("%s:%d in %s", st.File, st.Line, st.Fn)
	}
	if decl {
		// "struct x *v = kzalloc(...);": after the declarations, with
		// the blank line that ends them, unless one of them uses the
		// object already
		toks := sites.CodeTokens(f)
		after := afterDeclarations(f, stmtEnd)
		if usesName(toks, sites.TokenAt(toks, stmtEnd), sites.TokenAt(toks, after), v) {
			return allocAt{}, fmt.Sprintf("%s:%d in %s (a later declaration uses the object)", st.File, st.Line, st.Fn)
		}
		stmtEnd = after
	}
	// after "if (!v) return ...;" when the code checks the allocation
	at, guarded := afterNullCheck(f, stmtEnd, v)
	return allocAt{at: at, v: v, gfp: gfp, indent: indentAt(f.Src, ast.LineStart(f.Src, off)), decl: decl, guarded: guarded}, ""
}

// block renders the statements body writes (each on a new line, indented
// with the in it is given) for after the allocation: as they are when the
// code checks the allocation, otherwise inside "if (v) { ... }" (after a
// blank line when the allocation is a declaration).
func (pt allocAt) block(body func(b *strings.Builder, in string)) string {
	var b strings.Builder
	if pt.guarded {
		body(&b, pt.indent)
		return b.String()
	}
	if pt.decl {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%sif (%s) {", pt.indent, pt.v)
	body(&b, pt.indent+"\t")
	fmt.Fprintf(&b, "\n%s}", pt.indent)
	return b.String()
}

// containerFrees frees, where each object that embeds the struct is
// made, the shadows a freed one at the same address left behind: the
// frees of the container are not all known, and a new container must
// never read an old one's values. It returns what it did, or why it
// cannot (then it edits nothing).
func containerFrees(p *rewrite.Pass, st *sites.Site, pls []*plan) (string, string) {
	c, why := sites.ContainerOf(p, st)
	if why != "" {
		return "", why
	}
	var edits []edit.Edit
	var done []string
	for _, cs := range c.Sites {
		pt, why := allocPoint(p, cs)
		if why != "" {
			return "", fmt.Sprintf("kprewrite cannot add code after the allocation of struct %s (which embeds it) at %s", c.Tag, why)
		}
		text := pt.block(func(b *strings.Builder, in string) {
			for _, pl := range pls {
				fmt.Fprintf(b, "\n%sklp_shadow_free(&%s->%s, %s, %s);", in, pt.v, c.Field, pl.idMacro, pl.dtorName())
			}
		})
		edits = append(edits, edit.Edit{File: cs.File, Off: pt.at, End: pt.at, Text: text, Why: "a new container never reads the shadow a freed one left behind", Hazard: only(pls)})
		done = append(done, fmt.Sprintf("%s:%s", cs.File, cs.Fn))
	}
	for _, e := range edits {
		p.Edit(e)
		ensureInclude(p, e.File, pls)
	}
	sort.Strings(done)
	return fmt.Sprintf("%s: objects of the struct live inside struct %s (member %s), whose frees are not all known; where a struct %s is made (%s) the shadow a freed one at the same address left behind is freed first, so a new object never reads an old one's value (each shadow left behind stays allocated until then, or until the livepatch is disabled)",
		st, c.Tag, c.Field, c.Tag, strings.Join(done, ", ")), ""
}

// pduFrees adds, for each blk-mq payload of the struct (sites.PDU), the
// start of its tag set's .exit_request callback as a free: blk-mq runs it
// before the payload goes, for every request and the flush request. A
// payload whose callback kprewrite cannot find is reported for the
// engineer (a shadow left behind would be found by a new payload at the
// same address).
func pduFrees(p *rewrite.Pass, header, tag string, frees []*sites.Free) ([]*sites.Free, []lifeNote) {
	res, err := sites.Find(p, header, tag)
	if err != nil {
		return frees, nil
	}
	var out []lifeNote
	for _, st := range res.Sites {
		if st.Kind != sites.PDU {
			continue
		}
		f := p.Parse(st.File)
		var fn *ast.Func
		if st.Exit != "" {
			fn = f.Func(st.Exit)
		}
		if fn == nil {
			out = append(out, work(fmt.Sprintf("the payloads of %s (blk-mq requests) have no .exit_request callback in %s: their shadows are not freed when the tag set goes", st, st.File)))
			continue
		}
		v, at := sites.PDUVar(f, fn, tag)
		if v == "" {
			out = append(out, work(fmt.Sprintf("%s, the .exit_request callback of %s, declares no struct %s pointer at its top: the payloads' shadows are not freed there", st.Exit, st, tag)))
			continue
		}
		frees = append(frees, &sites.Free{File: st.File, Line: f.Line(at), Fn: st.Exit, Call: ".exit_request", Arg: v, Stmt: at})
	}
	return frees, out
}

// afterNullCheck returns the offset after an "if (!v) <statement>" that
// directly follows offset at, and whether there is one.
func afterNullCheck(f *ast.File, at int, v string) (int, bool) {
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, at)
	if i+5 < len(toks) && toks[i].Text == "if" && toks[i+1].Text == "(" && toks[i+2].Text == "!" && toks[i+3].Text == v && toks[i+4].Text == ")" {
		for k := i + 5; k < len(toks); k++ {
			if toks[k].Text == ";" {
				return toks[k].End, true
			}
			if toks[k].Text == "{" {
				break
			}
		}
	}
	return at, false
}

func orUnknown(s string) string {
	if s == "" {
		return "see the creation sites"
	}
	return s
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no site"
	}
	return strings.Join(s, ", ")
}

// ensureInclude gives a file that gets shadow calls outside the accessors
// what they need: linux/livepatch.h and the shadow ids (with the
// accessors, identical to the other files'). Files with uses already have
// them.
func ensureInclude(p *rewrite.Pass, f string, pls []*plan) {
	for _, pl := range pls {
		if slices.Contains(pl.m.Files, f) {
			return // member.Apply adds them with the accessors
		}
	}
	if pf := p.Parse(f); pf != nil {
		var codes []string
		for _, pl := range pls {
			codes = append(codes, pl.m.Code)
		}
		at := gen.InsertionPoint(pf)
		p.Edit(edit.Edit{File: f, Off: at, End: at, Text: gen.Styled(f, gen.InsertText(pf.Src, at, gen.Join(codes))), Why: "shadow ids for allocation and free", Hazard: only(pls)})
		for _, pl := range pls {
			pl.m.Files = append(pl.m.Files, f)
		}
	}
	if e, ok := gen.Include(p.Parse(f), "#include <linux/livepatch.h>"); ok {
		e.Why = "include for klp_shadow"
		p.Edit(e)
	}
}

// only returns the hazard of the one member of pls, or nil when the code
// serves several.
func only(pls []*plan) *hazard.Hazard {
	if len(pls) != 1 {
		return nil
	}
	return pls[0].m.Entry.Hazard
}

// allocStatement finds the statement "v = alloc(..., gfp);" around off and
// returns the offset after it, the variable and the gfp argument.
func allocStatement(f *ast.File, off int) (int, string, string, bool) {
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, off)
	start, end := sites.StatementBounds(toks, i)
	decl := false
	if end < len(toks) && start+3 < end && toks[start].Text == "struct" {
		// "struct x *v = alloc(...);"
		k := start + 2
		for k < end && toks[k].Text == "*" {
			k++
		}
		if k+1 < end && toks[k].Kind == ast.Ident && toks[k+1].Text == "=" && k > start+2 {
			start, decl = k, true
		}
	}
	if end >= len(toks) || start+1 >= len(toks) || toks[start+1].Text != "=" || toks[start].Kind != ast.Ident {
		return -1, "", "", false
	}
	return toks[end].End, toks[start].Text, allocGFP(toks[start+2 : end]), decl
}

// gfpArg is where the allocators take their gfp flags, by position.
var gfpArg = map[string]int{
	"kmalloc": 1, "kzalloc": 1, "kvmalloc": 1, "kvzalloc": 1, "kmalloc_node": 1, "kzalloc_node": 1,
	"kvmalloc_node": 1, "kvzalloc_node": 1, "kmem_cache_alloc": 1, "kmem_cache_zalloc": 1,
	"kmem_cache_alloc_node": 1, "kcalloc": 2, "kmalloc_array": 2, "kvcalloc": 2, "kvmalloc_array": 2,
	"kcalloc_node": 2, "kmemdup": 2, "devm_kzalloc": 2, "devm_kmalloc": 2, "devm_kcalloc": 3,
}

// allocGFP is the gfp the shadow allocated with the object takes: the
// allocation's own argument, verbatim (a variable, or "in_interrupt() ?
// GFP_ATOMIC : GFP_KERNEL", is in scope right after it); GFP_ATOMIC when
// the allocator is not one kprewrite knows (it may not be in a context
// that sleeps).
func allocGFP(rhs []ast.Token) string {
	for k := 0; k+1 < len(rhs); k++ {
		idx, ok := gfpArg[rhs[k].Text]
		if !ok || rhs[k+1].Text != "(" {
			continue
		}
		args, _ := sites.CallArgs(rhs, k+1)
		if idx < len(args) && args[idx][1] > args[idx][0] {
			return ast.JoinTokens(rhs[args[idx][0]:args[idx][1]])
		}
	}
	return "GFP_ATOMIC"
}

// afterDeclarations returns the offset after the declarations that follow
// the declaration ending at off in its block (the first statement's start
// is where code may go without mixing declarations and statements).
func afterDeclarations(f *ast.File, off int) int {
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, off)
	for i < len(toks) {
		t := toks[i]
		decl := declStartRE.MatchString(t.Text) || t.Kind == ast.Ident && i+2 < len(toks) && !stmtStartRE.MatchString(t.Text) &&
			(toks[i+1].Kind == ast.Ident || toks[i+1].Text == "*" && toks[i+2].Kind == ast.Ident)
		if !decl {
			break
		}
		k := i
		for k < len(toks) && toks[k].Text != ";" {
			k++
		}
		if k >= len(toks) {
			break
		}
		off = toks[k].End
		i = k + 1
	}
	return off
}

// stmtStartRE are the keywords that start a statement.
var stmtStartRE = regexp.MustCompile(`^(return|goto|if|else|while|for|do|switch|case|default|break|continue|sizeof)$`)

func indentAt(src []byte, off int) string {
	s := ast.LineStart(src, off)
	e := s
	for e < len(src) && (src[e] == '\t' || src[e] == ' ') {
		e++
	}
	return string(src[s:e])
}

// callback adds the post-unpatch callback that frees every shadow.
func callback(p *rewrite.Pass, pls []*plan) {
	var files []string
	for _, pl := range pls {
		files = append(files, pl.m.Files...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return
	}
	f := files[0]
	pf := p.Parse(f)
	var b strings.Builder
	b.WriteString("\n")
	b.WriteString(gen.Comment("", gen.Banner+": free the shadow variables when the livepatch is disabled."))
	fmt.Fprintf(&b, "static void kprewrite_free_shadows(struct klp_object *obj)\n{\n")
	for _, pl := range pls {
		if pl.work != nil {
			fmt.Fprintf(&b, "\t%s();\n", pl.work.cancelAll)
		}
		b.WriteString(gen.Call("\t", "klp_shadow_free_all", []string{pl.idMacro, pl.dtorName()}, ";") + "\n")
	}
	b.WriteString("}\n")
	inc := "#include <linux/livepatch_helpers.h>\n"
	if p.Options.Dialect == "kpatch" {
		b.WriteString("KPATCH_POST_UNPATCH_CALLBACK(kprewrite_free_shadows);\n")
		inc = "#include \"kpatch-macros.h\"\n"
	} else {
		b.WriteString("KLP_POST_UNPATCH_CALLBACK(kprewrite_free_shadows);\n")
	}
	end := len(pf.Src)
	p.Edit(edit.Edit{File: f, Off: end, End: end, Text: gen.Styled(f, b.String()), Why: "post-unpatch callback", Hazard: only(pls)})
	if e, ok := gen.Include(pf, inc); ok {
		e.Why = "include for the callback"
		p.Edit(e)
	}
}

// isConstantExpr reports whether e is a constant: numbers, upper-case
// names (macros, enumerators) and operators only.
func isConstantExpr(e string) bool {
	for _, t := range ast.Tokenize([]byte(e)) {
		if t.Kind == ast.Ident && strings.ToUpper(t.Text) != t.Text {
			return false
		}
		if t.Kind == ast.String || t.Kind == ast.Char {
			return false
		}
	}
	return true
}
