package ast

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzTokenize(f *testing.F) {
	for _, p := range []string{"../testdata/kernels/seed/include/net/bonding.h", "../testdata/kernels/seed/net/core/dev.c"} {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("#define X(a) \\\n  a /* c */\nint x = 'a'; \"s\\\"\" /* open"))
	f.Fuzz(func(t *testing.T, src []byte) {
		toks := Tokenize(src)
		last := 0
		for _, tk := range toks {
			if tk.Off < last || tk.End <= tk.Off || tk.End > len(src) || string(src[tk.Off:tk.End]) != tk.Text {
				t.Fatalf("bad token %+v after %d", tk, last)
			}
			last = tk.End
		}
		Parse("fuzz.c", src) // must not panic
	})
}

func TestTokenizeKeepsCommentsAndDirectives(t *testing.T) {
	src := "#include <linux/x.h> /* c */\n#define A(x) \\\n\t((x) + 1)\nint a = 1; // end\n"
	var kinds []string
	for _, tk := range Tokenize([]byte(src)) {
		kinds = append(kinds, tk.Kind.String()+":"+tk.Text)
	}
	want := []string{"directive:#include <linux/x.h> /* c */", "directive:#define A(x) \\\n\t((x) + 1)",
		"ident:int", "ident:a", "punct:=", "number:1", "punct:;", "comment:// end"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStructMembers(t *testing.T) {
	src := `struct slave {
	struct net_device *dev; /* first */
	unsigned long arr[BOND_MAX];
	u8     backup:1,   /* a */
	       inactive:1; /* b */
#ifdef CONFIG_NET_POLL_CONTROLLER
	struct netpoll *np;
#else
	int nopoll;
#endif
	union {
		int a;
		long b;
	};
	struct {
		int x;
	} named;
	void (*fn)(int, char *);
	DECLARE_BITMAP(bits, 8);
	unsigned int __state;
};
`
	f := Parse("x.h", []byte(src))
	s := f.Struct("slave")
	if s == nil {
		t.Fatal("struct slave not found")
	}
	type m struct{ Name, Type, Bits, Cond string }
	var got []m
	for _, x := range s.Members {
		got = append(got, m{x.Name, x.Type, x.Bits, x.Cond.String()})
	}
	want := []m{
		{"dev", "struct net_device *", "", ""},
		{"arr", "unsigned long", "", ""},
		{"backup", "u8", "1", ""},
		{"inactive", "u8", "1", ""},
		{"np", "struct netpoll *", "", "defined(CONFIG_NET_POLL_CONTROLLER)"},
		{"nopoll", "int", "", "!(defined(CONFIG_NET_POLL_CONTROLLER))"},
		{"", "union {...}", "", ""},
		{"named", "struct {...}", "", ""},
		{"fn", "void (*fn)(int, char *)", "", ""},
		{"", "DECLARE_BITMAP", "", ""},
		{"__state", "unsigned int", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if s.Members[2].Group != s.Members[3].Group || s.Members[2].Group == s.Members[1].Group {
		t.Errorf("bitfield group numbers wrong")
	}
	if !strings.Contains(s.Members[3].Comment, "/* b */") {
		t.Errorf("comment %q", s.Members[3].Comment)
	}
	if got := s.Members[1].Array; len(got) != 1 || got[0] != "BOND_MAX" {
		t.Errorf("array %v", got)
	}
}

func TestFunctions(t *testing.T) {
	src := `static int max_bonds = 1;
static int __init bond_init(void)
{
	static bool done;
	return 0;
}
__printf(2, 3) void log_it(int lvl, const char *fmt, ...)
{
}
static inline __attribute__((always_inline)) int f2(int a) { return a; }
SYSCALL_DEFINE3(kcmp, pid_t, pid1, pid_t, pid2, int, type)
{
	return 0;
}
int foo(void) __acquires(x)
{
	return 1;
}
EXPORT_SYMBOL(foo);
static DEFINE_MUTEX(lock);
int proto(int);
`
	f := Parse("x.c", []byte(src))
	var names []string
	for _, fn := range f.Funcs {
		names = append(names, fn.Name)
	}
	if diff := cmp.Diff([]string{"bond_init", "log_it", "f2", "sys_kcmp", "foo"}, names); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	init := f.Func("bond_init")
	if !init.Has("__init") || !init.Has("static") || len(init.StaticLocals) != 1 || init.StaticLocals[0].Name != "done" {
		t.Errorf("bond_init: attrs %v locals %d", init.Attrs, len(init.StaticLocals))
	}
	if !f.Func("f2").IsInline() {
		t.Errorf("f2 not inline")
	}
	if f.Func("sys_kcmp").Macro != "SYSCALL_DEFINE3" {
		t.Errorf("syscall macro")
	}
	if len(f.Vars) != 1 || f.Vars[0].Name != "max_bonds" || f.Vars[0].InitText != "1" {
		t.Errorf("vars %+v", f.Vars)
	}
	var calls []string
	for _, c := range f.Calls {
		calls = append(calls, c.Name+"("+strings.Join(c.Args, ",")+")")
	}
	if diff := cmp.Diff([]string{"EXPORT_SYMBOL(foo)", "DEFINE_MUTEX(lock)"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(f.Decls) != 1 || f.Decls[0].Kind != Prototype || f.Decls[0].Name != "proto" {
		t.Errorf("decls %+v", f.Decls)
	}
}

func TestMacrosAndGuard(t *testing.T) {
	src := "/* hdr */\n#ifndef _X_H\n#define _X_H\n#define A 1\n#define F(a, b) \\\n\t((a) + (b)) /* sum */\n#if IS_ENABLED(CONFIG_Y)\nint y;\n#elif defined(CONFIG_Z)\nint z;\n#endif\n#endif\n"
	f := Parse("x.h", []byte(src))
	if f.Guard != "_X_H" {
		t.Errorf("guard %q", f.Guard)
	}
	m := f.Macro("F")
	if m == nil || !m.FuncLike || strings.Join(m.Params, ",") != "a,b" || m.Body != "((a) + (b))" {
		t.Errorf("macro F: %+v", m)
	}
	if len(f.Vars) != 2 || f.Vars[0].Cond.String() != "IS_ENABLED(CONFIG_Y)" || f.Vars[1].Cond.String() != "!(IS_ENABLED(CONFIG_Y)) && defined(CONFIG_Z)" {
		t.Errorf("conds: %q %q", f.Vars[0].Cond, f.Vars[1].Cond)
	}
}

// TestMacroStatementsWithoutSemicolon: DEFINE_FREE(...) and DEFINE_GUARD(...)
// end without a ';' (include/linux/device.h); they are macro calls of their
// own, not the start of the prototype that follows.
func TestMacroStatementsWithoutSemicolon(t *testing.T) {
	src := "DEFINE_FREE(put_device, struct device *, if (_T) put_device(_T))\n" +
		"DEFINE_GUARD(device, struct device *, device_lock(_T), device_unlock(_T))\n" +
		"int device_add(struct device *dev);\n" +
		"SYSCALL_DEFINE1(close, unsigned int, fd)\n{\n\treturn 0;\n}\n" +
		"DECLARE_PER_CPU(int, foo);\n"
	f := Parse("include/linux/device.h", []byte(src))
	var got []string
	for _, c := range f.Calls {
		got = append(got, "call "+c.Name+"("+strings.Join(c.Args, "|")+")")
	}
	for _, d := range f.Decls {
		got = append(got, string(d.Kind)+" "+d.Name+": "+d.Text)
	}
	for _, fn := range f.Funcs {
		got = append(got, "func "+fn.Name)
	}
	want := []string{
		"call DEFINE_FREE(put_device|struct device *|if (_T) put_device(_T))",
		"call DEFINE_GUARD(device|struct device *|device_lock(_T)|device_unlock(_T))",
		"call DECLARE_PER_CPU(int|foo)",
		"prototype device_add: int device_add(struct device *dev)",
		"func sys_close",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestFunctionPointerVariableIsNoPrototype: "extern int (*platform_notify)
// (struct device *dev);" in include/linux/device.h declares a variable; it
// was once read as a prototype named "int". A __printf(...) in front of a
// prototype is an attribute, not its name.
func TestFunctionPointerVariableIsNoPrototype(t *testing.T) {
	src := "extern int (*platform_notify)(struct device *dev);\n" +
		"__printf(3, 4) int dev_err_probe(const struct device *dev, int err, const char *fmt, ...);\n" +
		"PAGEFLAG(Error, error, PF_NO_TAIL) TESTCLEARFLAG(Error, error, PF_NO_TAIL)\n" +
		"void folio_end_writeback(struct folio *folio);\n" +
		// a function whose name starts with __ (kernel/sched/stats.h)
		"void __update_stats_wait_start(struct rq *rq, struct task_struct *p,\n\t\t\t       struct sched_statistics *stats);\n" +
		"extern __printf(2, 3) void __log_it(int lvl, const char *fmt, ...) __cold;\n"
	f := Parse("include/linux/device.h", []byte(src))
	var got []string
	for _, d := range f.Decls {
		got = append(got, string(d.Kind)+" "+d.Name)
	}
	for _, v := range f.Vars {
		got = append(got, "var "+v.Name)
	}
	for _, c := range f.Calls {
		got = append(got, "call "+c.Name)
	}
	want := []string{"prototype dev_err_probe", "prototype folio_end_writeback", "prototype __update_stats_wait_start", "prototype __log_it", "var platform_notify", "call PAGEFLAG", "call TESTCLEARFLAG"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// flat returns the member names of s as the compiler sees them: anonymous
// nested aggregates flattened, macro-made members by their Names (or their
// text when ast does not know them).
func flat(ms []*Member) []string {
	var out []string
	for _, m := range ms {
		switch {
		case m.Nested != nil && m.Name == "":
			out = append(out, flat(m.Nested.Members)...)
		case m.Name != "":
			out = append(out, m.Name)
		case m.Names != nil:
			out = append(out, m.Names...)
		case m.Macro != "":
			out = append(out, m.Macro)
		}
	}
	return out
}

func structNames(t *testing.T, src, name string) []string {
	t.Helper()
	f := Parse("x.h", []byte(src))
	s := f.Struct(name)
	if s == nil {
		t.Fatalf("struct %s not found", name)
	}
	return flat(s.Members)
}

// TestTrailingAttributes: an attribute macro after a member's name is no
// name. Before, ast read "CRYPTO_MINALIGN_ATTR" (include/linux/crypto.h),
// "____cacheline_internodealigned_in_smp" (include/linux/srcutree.h) and
// "__module_layout_align" (include/linux/module.h) as the members' names.
func TestTrailingAttributes(t *testing.T) {
	src := `struct crypto_tfm {
	u32 crt_flags;
	void *__crt_ctx[] CRYPTO_MINALIGN_ATTR;
};
struct srcu_data {
	spinlock_t __private lock ____cacheline_internodealigned_in_smp;
	struct srcu_struct *ssp __rcu;
	struct module_layout core_layout __module_layout_align;
	unsigned int __state;
	u32 __flags;
	unsigned long flags;
	const char *name;
	struct list_head list;
};
`
	if diff := cmp.Diff([]string{"crt_flags", "__crt_ctx"}, structNames(t, src, "crypto_tfm")); diff != "" {
		t.Errorf("crypto_tfm (-want +got):\n%s", diff)
	}
	want := []string{"lock", "ssp", "core_layout", "__state", "__flags", "flags", "name", "list"}
	if diff := cmp.Diff(want, structNames(t, src, "srcu_data")); diff != "" {
		t.Errorf("srcu_data (-want +got):\n%s", diff)
	}
}

// TestUnnamedBitfields: "unsigned :5;" (arch/x86/include/asm/kvm_host.h)
// and "__u16 :16;" (include/uapi/linux/bpf.h) declare padding, no member.
// Before, ast read members named "unsigned" and "__u16".
func TestUnnamedBitfields(t *testing.T) {
	src := `struct bpf_sock {
	__be16 dst_port;
	__u16 :16;
	__u32 dst_ip4;
	unsigned :5;
	unsigned smm:8;
	int  :32; int  :32;
	u8 a:1, b:1;
	unsigned int c:2;
};
`
	want := []string{"dst_port", "dst_ip4", "smm", "a", "b", "c"}
	if diff := cmp.Diff(want, structNames(t, src, "bpf_sock")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f := Parse("x.h", []byte(src))
	var bits []string
	for _, m := range f.Struct("bpf_sock").Members {
		if m.Name == "" {
			bits = append(bits, m.Type+":"+m.Bits)
		}
	}
	if diff := cmp.Diff([]string{"__u16:16", "unsigned:5", "int:32", "int:32"}, bits); diff != "" {
		t.Errorf("unnamed bitfields (-want +got):\n%s", diff)
	}
}

// TestNestedAggregateDeclarators: "struct ethtool_fec_stat {...} a, b, c;"
// (include/linux/ethtool.h) declares three members; "struct {...} __packed;"
// (include/asm-generic/hyperv-tlfs.h) and "struct {...} __randomize_layout;"
// (include/linux/mm_types.h) declare an anonymous one. Before, ast kept only
// the last name, and read the attributes as names.
func TestNestedAggregateDeclarators(t *testing.T) {
	src := `struct ethtool_fec_stats {
	struct ethtool_fec_stat {
		u64 total;
		u64 lanes[ETHTOOL_MAX_LANES];
	} corrected_blocks, uncorrectable_blocks, corrected_bits;
};
union hv_message_flags {
	__u8 asu8;
	struct {
		__u8 msg_pending:1;
		__u8 reserved:7;
	} __packed;
};
struct mm_struct {
	struct {
		struct maple_tree mm_mt;
	} __randomize_layout;
	unsigned long cpu_bitmap[];
};
`
	if diff := cmp.Diff([]string{"corrected_blocks", "uncorrectable_blocks", "corrected_bits"}, structNames(t, src, "ethtool_fec_stats")); diff != "" {
		t.Errorf("ethtool_fec_stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"asu8", "msg_pending", "reserved"}, structNames(t, src, "hv_message_flags")); diff != "" {
		t.Errorf("hv_message_flags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mm_mt", "cpu_bitmap"}, structNames(t, src, "mm_struct")); diff != "" {
		t.Errorf("mm_struct (-want +got):\n%s", diff)
	}
	f := Parse("x.h", []byte(src))
	ms := f.Struct("ethtool_fec_stats").Members
	if ms[1].Nested != ms[0].Nested || ms[2].Type != "struct ethtool_fec_stat" || f.Text(ms[2].NameAt) != "corrected_bits" {
		t.Errorf("declarators after one definition share it: %+v", ms[2])
	}
}

// TestStructGroup: struct_group() and its variants (include/linux/stddef.h)
// hold real member declarations. Before, ast read each group as one member
// made by a macro; now it reads the union the macro makes: the members,
// each with its own span, then the group's name; a tagged group defines its
// struct (struct sk_buff_list in include/linux/skbuff.h).
func TestStructGroup(t *testing.T) {
	src := `struct iphdr {
	__u8	ttl;
	__sum16	check;
	__struct_group(/* no tag */, addrs, /* no attrs */,
		__be32	saddr;
		__be32	daddr;
	);
};
struct sk_buff_head {
	struct_group_tagged(sk_buff_list, list,
		struct sk_buff	*next;
		struct sk_buff	*prev;
	);
	__u32		qlen;
};
struct napi_gro_cb {
	struct_group(zeroed,
		u16	gro_remcsum_start;
		u8	same_flow:1, encap_mark:1;
	);
	int last;
};
`
	if diff := cmp.Diff([]string{"ttl", "check", "saddr", "daddr", "addrs"}, structNames(t, src, "iphdr")); diff != "" {
		t.Errorf("iphdr (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"next", "prev", "list", "qlen"}, structNames(t, src, "sk_buff_head")); diff != "" {
		t.Errorf("sk_buff_head (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gro_remcsum_start", "same_flow", "encap_mark", "zeroed", "last"}, structNames(t, src, "napi_gro_cb")); diff != "" {
		t.Errorf("napi_gro_cb (-want +got):\n%s", diff)
	}
	f := Parse("x.h", []byte(src))
	var tagged *Struct
	for _, s := range f.Structs {
		if s.Name == "sk_buff_list" {
			tagged = s
		}
	}
	if tagged == nil {
		t.Fatal("struct sk_buff_list (the tagged group) not found")
	}
	if diff := cmp.Diff([]string{"next", "prev"}, flat(tagged.Members)); diff != "" {
		t.Errorf("sk_buff_list (-want +got):\n%s", diff)
	}
	saddr := f.Struct("iphdr").Members[2].Nested.Members[0].Nested.Members[0]
	if f.Text(saddr.NameAt) != "saddr" || saddr.Type != "__be32" || saddr.Macro != "" || f.Text(saddr.Decl) != "__be32\tsaddr;" {
		t.Errorf("a grouped member is an ordinary member: %+v", saddr)
	}
}

// TestMacroMemberNames: a member made by a macro names what it declares:
// by the argument for the kernel's member macros defined elsewhere
// (DECLARE_BITMAP in include/linux/types.h, DECLARE_FLEX_ARRAY,
// __bpf_md_ptr), by expanding the #define for one in the same file
// (NET_DEV_STAT in include/linux/netdevice.h, ESTACKS_MEMBERS in
// arch/x86/include/asm/cpu_entry_area.h, HASH_LEN_DECLARE in
// include/linux/dcache.h). Before, Names did not exist and the members
// were unnamed.
func TestMacroMemberNames(t *testing.T) {
	src := `#define NET_DEV_STAT(FIELD)			\
	union {					\
		unsigned long FIELD;		\
		atomic_long_t __##FIELD;	\
	}
#define ESTACKS_MEMBERS(guardsize, optional_stack_size)		\
	char	DF_stack_guard[guardsize];			\
	char	VC_stack[optional_stack_size];
#ifdef __LITTLE_ENDIAN
 #define HASH_LEN_DECLARE u32 hash; u32 len
#else
 #define HASH_LEN_DECLARE u32 len; u32 hash
#endif
struct x {
	DECLARE_BITMAP(flags, DEV_FLAG_COUNT);
	DECLARE_FLEX_ARRAY(struct sock_filter, insns);
	__bpf_md_ptr(struct bpf_sock *, sk);
	NET_DEV_STAT(rx_packets);
	union { struct { HASH_LEN_DECLARE; }; u64 hash_len; };
	UNKNOWN_MACRO(a, b);
};
struct exception_stacks {
	ESTACKS_MEMBERS(0, VC_EXCEPTION_STKSZ)
};
`
	want := []string{"flags", "__empty_insns", "insns", "sk", "rx_packets", "__rx_packets",
		"hash", "len", "hash_len", "UNKNOWN_MACRO(a, b)"}
	if diff := cmp.Diff(want, structNames(t, src, "x")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DF_stack_guard", "VC_stack"}, structNames(t, src, "exception_stacks")); diff != "" {
		t.Errorf("exception_stacks (-want +got):\n%s", diff)
	}
	f := Parse("x.h", []byte(src))
	bm := f.Struct("x").Members[0]
	if bm.Name != "" || bm.Macro != "DECLARE_BITMAP(flags, DEV_FLAG_COUNT)" || bm.Type != "DECLARE_BITMAP" {
		t.Errorf("a macro-made member keeps its macro text and no Name: %+v", bm)
	}
}

// TestMacroMemberBranches: a member macro of the same file defined in two
// #if branches, one that declares the member and one that declares
// nothing (include/linux/seqlock.h's __SEQ_LOCK, expanded from "expr" with
// no ';' of its own), declares it under its branch's condition; an
// object-like member macro of another header with fixed members
// (__SIGINFO in include/linux/signal_types.h) names them. Before, both
// were members ast could not name (astdwarf: "struct kernel_siginfo:
// member 0: DWARF si_signo, ast __SIGINFO").
func TestMacroMemberBranches(t *testing.T) {
	src := `#if defined(CONFIG_LOCKDEP) || defined(CONFIG_PREEMPT_RT)
#define __SEQ_LOCK(expr)	expr
#else
#define __SEQ_LOCK(expr)
#endif
struct seqcount_raw_spinlock {
	seqcount_t seqcount;
	__SEQ_LOCK(raw_spinlock_t *lock);
};
struct kernel_siginfo {
	__SIGINFO;
};
`
	f := Parse("x.h", []byte(src))
	lock := f.Struct("seqcount_raw_spinlock").Members[1]
	want := Cond{{Expr: "defined(CONFIG_LOCKDEP) || defined(CONFIG_PREEMPT_RT)", Want: true}}
	if diff := cmp.Diff([]string{"lock"}, lock.Names); diff != "" || !lock.Cond.Equal(want) {
		t.Errorf("__SEQ_LOCK member: names (-want +got):\n%s cond %v, want %v", diff, lock.Cond, want)
	}
	if diff := cmp.Diff([]string{"si_signo", "si_errno", "si_code", "_sifields"}, structNames(t, src, "kernel_siginfo")); diff != "" {
		t.Errorf("kernel_siginfo (-want +got):\n%s", diff)
	}

	// an expansion with no ';' that is no declarator stays unnamed
	// (I915_PARAMS_FOR_EACH(MEMBER) would be read as a member MEMBER); a
	// self-guarded #define gets no condition (NAME is defined at the use);
	// a variadic macro given too few arguments is no crash
	src = `#define I915_PARAMS_FOR_EACH(param) param(bool, enable_dc) param(int, mmio_debug)
#define MEMBER(T, member) T member;
#ifndef WR_HDR
#define WR_HDR struct work_request_hdr wr
#endif
#define WR_HDR
#define M(a, b, ...) struct a { int b; };
M(x)
struct i915_params {
	I915_PARAMS_FOR_EACH(MEMBER);
	WR_HDR;
};
`
	f = Parse("x.h", []byte(src))
	ms := f.Struct("i915_params").Members
	if ms[0].Names != nil {
		t.Errorf("I915_PARAMS_FOR_EACH(MEMBER) names %v, want none", ms[0].Names)
	}
	if diff := cmp.Diff([]string{"wr"}, ms[1].Names); diff != "" || len(ms[1].Cond) != 0 {
		t.Errorf("WR_HDR: names (-want +got):\n%s cond %v, want none", diff, ms[1].Cond)
	}
}

// TestDefinedStructs: a file-scope invocation of a macro of the same file
// that defines a struct (include/linux/seqlock.h's SEQCOUNT_LOCKNAME,
// which pastes the struct's tag) defines it at the invocation, with the
// members of the expansion; the member macro inside keeps its branch's
// condition. Before, ast did not find struct seqcount_raw_spinlock at all.
func TestDefinedStructs(t *testing.T) {
	src := `#ifdef CONFIG_LOCKDEP
#define __SEQ_LOCK(expr)	expr
#else
#define __SEQ_LOCK(expr)
#endif
#define SEQCOUNT_LOCKNAME(lockname, locktype, preemptible)		\
typedef struct seqcount_##lockname {					\
	seqcount_t		seqcount;				\
	__SEQ_LOCK(locktype	*lock);					\
} seqcount_##lockname##_t;						\
									\
static __always_inline bool						\
__seqprop_##lockname##_preemptible(const seqcount_##lockname##_t *s)	\
{									\
	return preemptible;						\
}

SEQCOUNT_LOCKNAME(raw_spinlock, raw_spinlock_t,  false)
#ifdef CONFIG_DEBUG_MUTEXES
SEQCOUNT_LOCKNAME(mutex,        struct mutex,    true)
#endif
`
	f := Parse("include/linux/seqlock.h", []byte(src))
	type got struct {
		Line    int
		Cond    string
		Members []string
		Conds   []string
	}
	all := map[string]got{}
	for _, s := range f.MacroStructs {
		g := got{Line: f.Line(s.Span.Off), Cond: s.Cond.String(), Members: flat(s.Members)}
		for _, m := range s.Members {
			g.Conds = append(g.Conds, m.Cond.String())
		}
		all[s.Kind+" "+s.Name+" by "+s.Macro] = g
	}
	want := map[string]got{
		"struct seqcount_raw_spinlock by SEQCOUNT_LOCKNAME": {18, "", []string{"seqcount", "lock"}, []string{"", "defined(CONFIG_LOCKDEP)"}},
		"struct seqcount_mutex by SEQCOUNT_LOCKNAME": {20, "defined(CONFIG_DEBUG_MUTEXES)", []string{"seqcount", "lock"},
			[]string{"defined(CONFIG_DEBUG_MUTEXES)", "defined(CONFIG_DEBUG_MUTEXES) && defined(CONFIG_LOCKDEP)"}},
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(f.Structs) != 0 {
		t.Errorf("macro-made structs stay out of Structs: %d", len(f.Structs))
	}
}

// TestTraceEventStructs: TRACE_EVENT and DECLARE_EVENT_CLASS in a trace
// header define struct trace_event_raw_NAME and struct
// trace_event_data_offsets_NAME (include/trace/trace_events.h), and
// FTRACE_ENTRY in kernel/trace/trace_entries.h defines its struct_name.
// Before, ast knew none of them. An object-like macro alone on its line
// (SOFTIRQ_NAME_LIST in include/trace/events/irq.h) no longer swallows the
// TRACE_EVENT after it into a "prototype".
func TestTraceEventStructs(t *testing.T) {
	src := `#define SOFTIRQ_NAME_LIST softirq_name(HI) softirq_name_end(RCU)
#define softirq_name(sirq) TRACE_DEFINE_ENUM(sirq##_SOFTIRQ);
SOFTIRQ_NAME_LIST

TRACE_EVENT(irq_handler_entry,

	TP_PROTO(int irq, struct irqaction *action),

	TP_ARGS(irq, action),

	TP_STRUCT__entry(
		__field(	int,	irq		)
		__string(	name,	action->name	)
		__array(	char,	comm,	TASK_COMM_LEN	)
		__rel_bitmask(	mask,	nr	)
	),

	TP_fast_assign(
		__entry->irq = irq;
	),

	TP_printk("irq=%d", __entry->irq)
);

DEFINE_EVENT(irq_handler_entry, irq_other, TP_PROTO(int irq), TP_ARGS(irq));

#define FTRACE_CTX_FIELDS					\
	__field(	unsigned int,	prev_pid	)	\
	__field(	unsigned int,	next_pid	)

FTRACE_ENTRY(context_switch, ctx_switch_entry,

	TRACE_CTX,

	F_STRUCT(
		FTRACE_CTX_FIELDS
		__field_struct(	struct ftrace_graph_ent,	graph_ent	)
		__field_desc_packed(	unsigned long,	graph_ent,	func	)
	),

	F_printk("%u", __entry->prev_pid)
);
`
	f := Parse("include/trace/events/irq.h", []byte(src))
	got := map[string][]string{}
	for _, s := range f.MacroStructs {
		got[s.Name+" at "+strconv.Itoa(f.Line(s.Span.Off))+" by "+s.Macro] = flat(s.Members)
	}
	want := map[string][]string{
		"trace_event_raw_irq_handler_entry at 5 by TRACE_EVENT":          {"ent", "irq", "__data_loc_name", "comm", "__rel_loc_mask", "__data"},
		"trace_event_data_offsets_irq_handler_entry at 5 by TRACE_EVENT": {"name", "mask"},
		"ctx_switch_entry at 31 by FTRACE_ENTRY":                         {"ent", "prev_pid", "next_pid", "graph_ent"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(f.Structs) != 0 || len(f.Decls) != 0 {
		t.Errorf("macro structs stay out of Structs, and no prototype is read: %d structs, decls %+v", len(f.Structs), f.Decls)
	}
	var calls []string
	for _, c := range f.Calls {
		calls = append(calls, c.Name)
	}
	if diff := cmp.Diff([]string{"SOFTIRQ_NAME_LIST", "TRACE_EVENT", "DEFINE_EVENT", "FTRACE_ENTRY"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestTypedefOfTaggedStruct: "typedef struct tag {...} name;" declares the
// typedef as "typedef struct tag name;", so a change of the body is the
// struct's, not the typedef's; an anonymous struct's typedef keeps its body.
func TestTypedefOfTaggedStruct(t *testing.T) {
	t.Parallel()
	f := Parse("sr.h", []byte("typedef struct scsi_cd {\n\tunsigned capacity;\n\tunsigned use:1;\n} Scsi_CD;\ntypedef struct {\n\tint a;\n} anon_t;\n"))
	got := map[string]string{}
	for _, d := range f.Decls {
		got[d.Name] = d.Text
	}
	if got["Scsi_CD"] != "typedef struct scsi_cd Scsi_CD" {
		t.Errorf("Scsi_CD: %q", got["Scsi_CD"])
	}
	if !strings.Contains(got["anon_t"], "int a;") {
		t.Errorf("anon_t lost its body: %q", got["anon_t"])
	}
	if f.Struct("scsi_cd") == nil || len(f.Struct("scsi_cd").Members) != 2 {
		t.Errorf("struct scsi_cd is not modelled")
	}
}

// TestNewerKernelAnnotations: annotations and member macros of kernels
// after 6.1 (6.8's cache-line groups, 6.10's tunnel flag bitmaps, 6.11's
// __data_racy, the bounds and context-analysis attributes): before, ast
// read __data_racy, __private and __guarded_by as member names, and the
// markers of a cache-line group as unknown macros (measured by
// internal/astdwarf on a 7.2 build).
func TestNewerKernelAnnotations(t *testing.T) {
	src := `struct x {
	__cacheline_group_begin(x_read_tx);
	unsigned long __data_racy ra_pages;
	enum hrtimer_restart (*__private function)(struct hrtimer *);
	struct rb_root_cached waiters __guarded_by(&wait_lock);
	unsigned int *llc_counts __counted_by_ptr(llc_max);
	__cacheline_group_end(x_read_tx);
	__cacheline_group_begin(x_write) ____cacheline_aligned;
	IP_TUNNEL_DECLARE_FLAGS(tun_flags);
	__cacheline_group_end_aligned(x_write);
	union {
		DECLARE_FLEX_ARRAY(char, value) __aligned(8);
		DECLARE_FLEX_ARRAY(void *, ptrs) __aligned(8);
	};
};
`
	want := []string{"__cacheline_group_begin__x_read_tx", "ra_pages", "function", "waiters", "llc_counts",
		"__cacheline_group_end__x_read_tx", "__cacheline_group_begin__x_write", "tun_flags",
		"__cacheline_group_end__x_write", "__cacheline_group_pad__x_write",
		"__empty_value", "value", "__empty_ptrs", "ptrs"}
	f := Parse("x.h", []byte(src))
	var got []string
	var walk func(ms []*Member)
	walk = func(ms []*Member) {
		for _, m := range ms {
			switch {
			case m.Names != nil:
				got = append(got, m.Names...)
			case m.Name != "":
				got = append(got, m.Name)
			case m.Nested != nil:
				walk(m.Nested.Members)
			default:
				got = append(got, m.Macro)
			}
		}
	}
	walk(f.Struct("x").Members)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
