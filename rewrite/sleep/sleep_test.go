package sleep

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
)

// at returns the verdict at the marker "/*HERE*/" of src.
func atMarker(t *testing.T, src string) Verdict {
	t.Helper()
	off := strings.Index(src, "/*HERE*/")
	if off < 0 {
		t.Fatal("no marker")
	}
	return At(ast.Parse("x.c", []byte(src)), off)
}

func TestAt(t *testing.T) {
	tests := []struct {
		name string
		src  string
		may  bool
		why  string
	}{
		{"own mutex", `
void f(struct s *p)
{
	mutex_lock(&p->lock);
	mutex_unlock(&p->lock);
	/*HERE*/kfree(p);
}`, true, "f sleeps (mutex_lock)"},
		{"dpcd read", `
void f(struct intel_dp *dp)
{
	drm_dp_dpcd_read(&dp->aux, 0x70, dp->psr, sizeof(dp->psr));
	if (!dp->psr[0])
		return;
	/*HERE*/g(&dp->wa);
}`, true, "f sleeps (drm_dp_dpcd_read)"},
		{"spinlock open", `
void f(struct s *p)
{
	mutex_lock(&p->lock);
	spin_lock(&p->sl);
	/*HERE*/kfree(p);
	spin_unlock(&p->sl);
}`, false, "a lock or atomic section is open in f"},
		{"gfp kernel", `
void f(struct s *p)
{
	p->x = kzalloc(sizeof(*p->x), GFP_KERNEL);
	/*HERE*/kfree(p);
}`, true, "f sleeps (kzalloc(GFP_KERNEL))"},
		{"label reached only after the evidence", `
void f(struct s *p)
{
	mutex_lock(&p->lock);
	if (p->x)
		goto skip;
	p->y = 1;
skip:
	mutex_unlock(&p->lock);
	/*HERE*/kfree(p);
}`, true, "f sleeps (mutex_lock)"},
		{"label a goto before the evidence jumps to", `
void f(struct s *p)
{
	if (p->x)
		goto skip;
	mutex_lock(&p->lock);
	mutex_unlock(&p->lock);
skip:
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"label a later goto reaches from a path around the evidence", `
void f(struct s *p)
{
	if (p->x)
		goto late;
	mutex_lock(&p->lock);
	mutex_unlock(&p->lock);
again:
	/*HERE*/kfree(p);
	return;
late:
	goto again;
}`, false, "nothing in f shows it may sleep"},
		{"label no visible goto reaches", `
void f(struct s *p)
{
	mutex_lock(&p->lock);
	mutex_unlock(&p->lock);
out:
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"typed allocation, default gfp", `
void f(struct s *p)
{
	p->x = kzalloc_obj(*p->x);
	/*HERE*/kfree(p);
}`, true, "f sleeps (kzalloc_obj(GFP_KERNEL, by default))"},
		{"typed allocation, atomic gfp", `
void f(struct s *p)
{
	p->x = kmalloc_objs(*p->x, 4, GFP_ATOMIC);
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"typed allocation, kernel gfp", `
void f(struct s *p)
{
	p->x = kzalloc_flex(*p->x, items, 4, GFP_KERNEL);
	/*HERE*/kfree(p);
}`, true, "f sleeps (kzalloc_flex(GFP_KERNEL))"},
		{"gfp kernel account", `
void f(struct s *p)
{
	p->x = kvzalloc(sizeof(*p->x), GFP_KERNEL_ACCOUNT);
	/*HERE*/kfree(p);
}`, true, "f sleeps (kvzalloc(GFP_KERNEL_ACCOUNT))"},
		{"gfp atomic", `
void f(struct s *p)
{
	p->x = kzalloc(sizeof(*p->x), GFP_ATOMIC);
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"unlock on an early exit", `
void f(struct s *p)
{
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
	spin_lock(&p->l);
	if (!p->x) {
		spin_unlock(&p->l);
		return;
	}
	/*HERE*/kfree(p);
	spin_unlock(&p->l);
}`, false, "a lock or atomic section is open in f"},
		{"trylock", `
void f(struct s *p)
{
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
	if (!spin_trylock(&p->l))
		return;
	/*HERE*/kfree(p);
	spin_unlock(&p->l);
}`, false, "a lock or atomic section is open in f"},
		{"spinlock guard", `
void f(struct s *p)
{
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
	guard(spinlock)(&p->l);
	/*HERE*/kfree(p);
}`, false, "a lock or atomic section is open in f"},
		{"guard ends with its block", `
void f(struct s *p)
{
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
	if (p->x) {
		guard(spinlock)(&p->l);
		p->x = 0;
	}
	/*HERE*/kfree(p);
}`, true, "f sleeps (mutex_lock)"},
		{"mutex guard", `
void f(struct s *p)
{
	guard(mutex)(&p->m);
	/*HERE*/kfree(p);
}`, true, "f sleeps (guard(mutex))"},
		{"lock wrapper of the file", `
static void tbl_lock(struct s *p)
{
	spin_lock(&p->l);
}

void f(struct s *p)
{
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
	tbl_lock(p);
	/*HERE*/kfree(p);
}`, false, "a lock or atomic section is open in f"},
		{"a lock wrapper of a header", `
void f(struct s *p)
{
	mutex_lock(&p->m);
	conn_table_lock_bh(p);
	/*HERE*/kfree(p);
	conn_table_unlock_bh(p);
	mutex_unlock(&p->m);
}`, false, "a lock or atomic section is open in f"},
		{"a callee that unlocks on two branches", `
static bool queue_add(struct s *p)
{
	spin_lock_bh(&p->l);
	if (!p->x) {
		spin_unlock_bh(&p->l);
		return false;
	}
	spin_unlock_bh(&p->l);
	return true;
}

void f(struct s *p)
{
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
	queue_add(p);
	/*HERE*/kfree(p);
}`, true, "f sleeps (mutex_lock)"},
		{"an unlock wrapper of the file", `
static void tbl_unlock(struct s *p)
{
	spin_unlock(&p->l);
}

void f(struct s *p)
{
	/*HERE*/kfree(p);
	tbl_unlock(p);
	mutex_lock(&p->m);
}`, false, "f releases a lock it did not take: its caller holds it"},
		{"bh_lock_sock", `
void f(struct sock *sk)
{
	lock_sock(sk);
	release_sock(sk);
	bh_lock_sock(sk);
	/*HERE*/kfree(sk->p);
	bh_unlock_sock(sk);
}`, false, "a lock or atomic section is open in f"},
		{"gfp chosen at run time", `
void f(struct s *p)
{
	p->x = kmalloc(8, in_interrupt() ? GFP_ATOMIC : GFP_KERNEL);
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"gfp of another call", `
void f(struct s *p)
{
	p->x = kmalloc(8, GFP_ATOMIC), p->y = GFP_KERNEL;
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"sleeps only when asked", `
static void rel(struct s *p, bool wait)
{
	if (wait)
		synchronize_rcu();
}

void f(struct s *p)
{
	rel(p, false);
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"sleeps only under an #if", `
void f(struct s *p)
{
#if 0
	msleep(1);
#endif
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"a function under an #if of its own", `
#ifdef CONFIG_X
void f(struct s *p)
{
	msleep(1);
	/*HERE*/kfree(p);
}
#endif`, true, "f sleeps (msleep)"},
		{"a call through a pointer", `
void f(struct s *p)
{
	p->ops->schedule(p);
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"entered with a lock held", `
void put_locked(struct s *p)
{
	/*HERE*/kfree(p);
	spin_unlock(&p->l);
	mutex_lock(&p->m);
}`, false, "put_locked releases a lock it did not take: its caller holds it"},
		{"must hold", `
static void put_locked(struct s *p) __must_hold(&p->l)
{
	mutex_lock(&p->m);
	/*HERE*/kfree(p);
}`, false, "put_locked is called with a lock held (__must_hold)"},
		{"a callee defined under #if twice", `
#ifdef CONFIG_X
static void h(struct s *p)
{
	mutex_lock(&p->m);
}
#else
static void h(struct s *p)
{
}
#endif

void f(struct s *p)
{
	h(p);
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"a label between the evidence and the point", `
void f(struct s *p)
{
	if (p->x)
		goto out;
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
out:
	/*HERE*/kfree(p);
}`, false, "nothing in f shows it may sleep"},
		{"evidence after the point", `
void f(struct s *p)
{
	/*HERE*/kfree(p->old);
	if (p->x)
		p->y = 1;
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
}`, true, "f sleeps (mutex_lock)"},
		{"a return between the point and the evidence", `
void f(struct s *p)
{
	/*HERE*/kfree(p->old);
	if (!p->x)
		return;
	mutex_lock(&p->m);
	mutex_unlock(&p->m);
}`, false, "nothing in f shows it may sleep"},
		{"named in a comment and a string", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

/* put() is called with p->m held */
void a(struct s *p)
{
	mutex_lock(&p->m);
	pr_debug("put\n");
	put(p);
}`, true, "every caller of put may sleep at the call: a (a sleeps (mutex_lock))"},
		{"exported", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}
EXPORT_SYMBOL(put);

void a(struct s *p)
{
	mutex_lock(&p->m);
	put(p);
}`, false, "nothing in put shows it may sleep"},
		{"every caller sleeps", `
static void put(struct s *p);

static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

static void cleanup(struct s *p)
{
	put(p);
}

void del(struct s *p)
{
	mutex_lock(&p->lock);
	cleanup(p);
	mutex_unlock(&p->lock);
}

void release(struct s *p)
{
	if (refcount_dec_and_mutex_lock(&p->ref, &p->lock)) {
		mutex_unlock(&p->lock);
		put(p);
	}
}`, true, "every caller of put may sleep at the call: cleanup (every caller of cleanup may sleep at the call: del (del sleeps (mutex_lock))); release (release sleeps (refcount_dec_and_mutex_lock))"},
		{"a caller holds a spinlock", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

void a(struct s *p)
{
	mutex_lock(&p->lock);
	put(p);
}

void b(struct s *p)
{
	mutex_lock(&p->lock);
	spin_lock(&p->sl);
	put(p);
	spin_unlock(&p->sl);
}`, false, "nothing in put shows it may sleep"},
		{"address taken", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

void a(struct s *p)
{
	mutex_lock(&p->lock);
	put(p);
}

static const struct ops o = {
	.put = put,
};`, false, "nothing in put shows it may sleep"},
		{"passed as a callback", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

void a(struct s *p)
{
	mutex_lock(&p->lock);
	call_later(put, p);
}`, false, "nothing in put shows it may sleep"},
		{"not static", `
void put(struct s *p)
{
	/*HERE*/kfree(p);
}

void a(struct s *p)
{
	mutex_lock(&p->lock);
	put(p);
}`, false, "nothing in put shows it may sleep"},
		{"no caller", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}`, false, "nothing in put shows it may sleep"},
		{"recursion", `
static void put(struct s *p)
{
	if (p->next)
		put(p->next);
	/*HERE*/kfree(p);
}

void a(struct s *p)
{
	mutex_lock(&p->lock);
	put(p);
}`, false, "nothing in put shows it may sleep"},
		{"named in a macro", `
#define PUT(p) put(p)

static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

void a(struct s *p)
{
	mutex_lock(&p->lock);
	put(p);
}`, false, "nothing in put shows it may sleep"},
		{"interrupt handler", `
static irqreturn_t f(int irq, void *data)
{
	mutex_lock(&p->lock);
	/*HERE*/kfree(data);
	return IRQ_HANDLED;
}`, false, "in an interrupt handler"},
		{"a callee sleeps", `
static void schedule_it(struct s *p)
{
	mutex_lock(&p->lock);
	mutex_unlock(&p->lock);
}

void enabled(struct s *p)
{
	/*HERE*/p->w = kmalloc(8, GFP_ATOMIC);
	schedule_it(p);
}

static const struct ops o = {
	.enabled = enabled,
};`, true, "enabled sleeps (schedule_it -> mutex_lock)"},
		{"a callee sleeps three calls down", `
static void c(struct s *p)
{
	msleep(1);
}

static void b(struct s *p)
{
	c(p);
}

static void a(struct s *p)
{
	b(p);
}

void top(struct s *p)
{
	a(p);
	/*HERE*/kfree(p);
}`, true, "top sleeps (a -> b -> c -> msleep)"},
		{"a callee sleeps too far down", `
static void d(struct s *p)
{
	msleep(1);
}

static void c(struct s *p)
{
	d(p);
}

static void b(struct s *p)
{
	c(p);
}

static void a(struct s *p)
{
	b(p);
}

void top(struct s *p)
{
	a(p);
	/*HERE*/kfree(p);
}`, false, "nothing in top shows it may sleep"},
		{"mutually recursive callees", `
static void b(struct s *p);

static void a(struct s *p)
{
	if (p->n)
		b(p->n);
}

static void b(struct s *p)
{
	a(p);
}

void top(struct s *p)
{
	a(p);
	/*HERE*/kfree(p);
}`, false, "nothing in top shows it may sleep"},
		{"shared grand-caller", `
static void put(struct s *p)
{
	/*HERE*/kfree(p);
}

static void one(struct s *p)
{
	put(p);
}

static void two(struct s *p)
{
	put(p);
}

void top(struct s *p)
{
	mutex_lock(&p->lock);
	one(p);
	two(p);
}`, true, "every caller of put may sleep at the call: one (every caller of one may sleep at the call: top (top sleeps (mutex_lock))); two (every caller of two may sleep at the call: top (top sleeps (mutex_lock)))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := atMarker(t, tt.src)
			if v.May != tt.may || v.Why != tt.why {
				t.Errorf("At = %v %q, want %v %q", v.May, v.Why, tt.may, tt.why)
			}
			if g := v.GFP(); (g == "GFP_KERNEL") != tt.may {
				t.Errorf("GFP = %s", g)
			}
		})
	}
}

// FuzzAt: any text, any point: an answer, never a panic.
func FuzzAt(f *testing.F) {
	f.Add("static void put(struct s *p)\n{\n\tkfree(p);\n}\nvoid a(struct s *p)\n{\n\tmutex_lock(&p->m);\n\tput(p);\n}\n", 20)
	f.Add("void f(void) { if (x) { spin_unlock(&l); return; } guard(spinlock)(&l); scoped_guard(mutex, &m) { a(); } }", 30)
	f.Add("#if 0\nvoid f(void) { msleep(1); }\n#else\nvoid f(void) { }\n#endif\nvoid g(void) { f(); kfree(p); }", 70)
	f.Fuzz(func(t *testing.T, src string, off int) {
		file := ast.Parse("x.c", []byte(src))
		if off < 0 || off > len(src) {
			return
		}
		v := At(file, off)
		if v.Why == "" {
			t.Errorf("no reason given at %d", off)
		}
	})
}

// Lock wrappers a header defines are read there: a macro that takes a
// spinlock opens a section even under a mutex (the reviewer's
// sess_state_lock), a macro around mutex_lock is evidence of sleeping, and
// a static inline around spin_lock opens a section.
func TestHeaderWrappers(t *testing.T) {
	hdr := ast.Parse("sess.h", []byte(`#define sess_state_lock(s) spin_lock(&(s)->state_lock)
#define sess_state_unlock(s) spin_unlock(&(s)->state_lock)
#define sess_big_lock(s) mutex_lock(&(s)->big)
static inline void sess_q_lock(struct sess *s)
{
	spin_lock_bh(&s->q);
}
`))
	for _, tt := range []struct {
		name, src string
		may       bool
	}{
		{"spinlock macro under a mutex", `
void f(struct sess *s)
{
	mutex_lock(&conn_lock);
	sess_state_lock(s);
	/*HERE*/kfree(s);
	sess_state_unlock(s);
}`, false},
		{"mutex macro", `
void f(struct sess *s)
{
	sess_big_lock(s);
	/*HERE*/kfree(s);
}`, true},
		{"spinlock inline", `
void f(struct sess *s)
{
	mutex_lock(&conn_lock);
	sess_q_lock(s);
	/*HERE*/kfree(s);
}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			off := strings.Index(tt.src, "/*HERE*/")
			v := At(ast.Parse("x.c", []byte(tt.src)), off, hdr)
			if v.May != tt.may {
				t.Errorf("At = %v %q, want %v", v.May, v.Why, tt.may)
			}
		})
	}
}
