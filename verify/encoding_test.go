package verify

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const encUpstream = `#include <linux/bitops.h>

#ifdef CONFIG_X
static void lock(void) { mutex_lock(&m); }
#else
static void lock(void) { }
#endif

void bind(struct pkt_sock *po)
{
	if (!pkt_sock_flag(po, PKT_SOCK_RUNNING))
		pkt_sock_flag_set(po, PKT_SOCK_RUNNING, 1);
	lock();
}
`

// the rewrite's form: its own accessors, a static_assert, the rest the same
const encRewritten = `#include <linux/bitops.h>

static_assert(sizeof(int) == 4);

static inline bool pkt_sock_get_running(const struct pkt_sock *s)
{
	return READ_ONCE(s->running);
}

static inline void pkt_sock_set_running(struct pkt_sock *s, bool val)
{
	WRITE_ONCE(s->running, val);
}

#ifdef CONFIG_X
static void lock(void) { mutex_lock(&m); }
#else
static void lock(void) { }
#endif

void bind(struct pkt_sock *po)
{
	if (!pkt_sock_get_running(po))
		pkt_sock_set_running(po, 1);
	lock();
}
`

func TestEncodingOnly(t *testing.T) {
	gen, why := encodingOnly("net/x.c", []byte(encUpstream), []byte(encRewritten))
	if why != "" {
		t.Fatalf("accessor calls only: %s", why)
	}
	if diff := cmp.Diff([]string{"pkt_sock_get_running", "pkt_sock_set_running"}, gen); diff != "" {
		t.Errorf("own functions (-want +got):\n%s", diff)
	}
}

// TestEncodingOnlyOwnData: the rewrite's own file-scope data (a lock
// table), an enum defined elsewhere than upstream's (header2c moved it
// into the file) and one upstream adds constants to after the shared ones
// are no difference outside functions.
func TestEncodingOnlyOwnData(t *testing.T) {
	// upstream's enum gains a constant the rewritten one has not
	up := strings.Replace(encUpstream, "#ifdef CONFIG_X", "enum pkt_state { PKT_A, PKT_B, PKT_C };\n\n#ifdef CONFIG_X", 1)
	rw := strings.Replace(encRewritten, "static_assert(sizeof(int) == 4);", "static int lock_table[4];\n\nenum pkt_state { PKT_A, PKT_B };", 1)
	if _, why := encodingOnly("net/x.c", []byte(up), []byte(rw)); why != "" {
		t.Errorf("own data and a moved enum: %s", why)
	}
}

func TestEncodingOnlyRefuses(t *testing.T) {
	for _, c := range []struct{ name, from, to, why string }{
		{"a dropped condition", "\tif (!pkt_sock_get_running(po))\n", "\tif (1)\n", `"1" differs from upstream`},
		{"an extra statement", "\tlock();\n}", "\tlock();\n\tlock();\n}", "differs from upstream outside a call"},
		{"a dropped statement", "\tlock();\n}", "}", `"}" differs from upstream`},
		{"a new declaration", "static_assert(sizeof(int) == 4);", "typedef int extra_t;", "outside functions"},
		{"an enum of another value", "static_assert(sizeof(int) == 4);", "enum pkt_state { PKT_A, PKT_B = 3 };", "defines PKT_B other than upstream's unit"},
		{"no own function", "RUNNING, 1", "RUNNING, 0", "defines no function of its own"},
	} {
		base := encRewritten
		up := encUpstream
		if c.name == "no own function" {
			base = encUpstream
		}
		if c.name == "an enum of another value" {
			up = strings.Replace(encUpstream, "#ifdef CONFIG_X", "enum pkt_state { PKT_A, PKT_B };\n\n#ifdef CONFIG_X", 1)
		}
		rw := strings.Replace(base, c.from, c.to, 1)
		if rw == base {
			t.Fatalf("%s: the case does not change the file", c.name)
		}
		_, why := encodingOnly("net/x.c", []byte(up), []byte(rw))
		if !strings.Contains(why, c.why) {
			t.Errorf("%s: got %q, want it to say %q", c.name, why, c.why)
		}
	}
}

// A preprocessed unit: a header inline the source file reaches is
// compared too, so a header change the rewrite forgot is no encoding.
const encUnit = `# 1 "net/x.c"
# 1 "include/linux/x.h" 1
static inline int limit(void) { return 10; }
# 2 "net/x.c" 2
static inline int get_a(const struct s *s) { return s->a; }
int f(struct s *s) { return get_a(s) < limit(); }
`

func TestEncodingOnlyUnit(t *testing.T) {
	up := strings.Replace(strings.Replace(encUnit, "get_a(s)", "s_flag(s, A)", 1), "static inline int get_a(const struct s *s) { return s->a; }\n", "", 1)
	if _, why := encodingOnly("net/x.c", []byte(up), []byte(encUnit)); why != "" {
		t.Fatalf("the same header: %s", why)
	}
	forgot := strings.Replace(up, "return 10;", "return 20;", 1)
	_, why := encodingOnly("net/x.c", []byte(forgot), []byte(encUnit))
	if !strings.Contains(why, `limit(): "10" differs from upstream`) {
		t.Errorf("a header inline upstream changes and the rewrite does not: got %q", why)
	}
}

func TestNormCounterNames(t *testing.T) {
	for in, want := range map[string]string{
		"__UNIQUE_ID_x_807":                                 "__UNIQUE_ID_x_N",
		"__compiletime_assert_5":                            "__compiletime_assert_N",
		"__initcall__kmod_af_packet__840_4834_packet_init6": "__initcall__kmod_af_packet__N_4834_packet_init6",
		`"int __UNIQUE_ID_y_808 = (x);"`:                    `"int __UNIQUE_ID_y_N = (x);"`,
		"__UNIQUE_ID_ipv6_123":                              "__UNIQUE_ID_ipv6_N",
		"reg12":                                             "reg12",
	} {
		if got := norm(in); got != want {
			t.Errorf("norm(%q) = %q, want %q", in, got, want)
		}
	}
}

// A call of the rewrite's own function stands for one upstream call or
// parenthesised group, never for more of upstream's code.
func TestEncodingOnlyOneExpressionPerCall(t *testing.T) {
	for _, c := range []struct{ name, up string }{
		{"a condition dropped next to the call", "\tif (!pkt_sock_flag(po, PKT_SOCK_RUNNING) && po->ready)\n"},
		{"an operator after the call", "\tif (!pkt_sock_flag(po, PKT_SOCK_RUNNING) + 5)\n"},
	} {
		up := strings.Replace(encUpstream, "\tif (!pkt_sock_flag(po, PKT_SOCK_RUNNING))\n", c.up, 1)
		if _, why := encodingOnly("net/x.c", []byte(up), []byte(encRewritten)); why == "" {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// Header code moved under a new name (foo_lp) is compared with upstream's
// foo, and a typedef of a header is compared too.
func TestEncodingOnlyMovedHeaderCode(t *testing.T) {
	rw := strings.Replace(encUnit, "# 2 \"net/x.c\" 2\n", "# 2 \"net/x.c\" 2\nstatic inline int limit_lp(void) { return 10; }\n", 1)
	rw = strings.Replace(rw, "< limit();", "< limit_lp();", 1)
	up := strings.Replace(strings.Replace(encUnit, "get_a(s)", "s_flag(s, A)", 1), "static inline int get_a(const struct s *s) { return s->a; }\n", "", 1)
	if _, why := encodingOnly("net/x.c", []byte(up), []byte(rw)); why != "" {
		t.Fatalf("the moved copy is upstream's: %s", why)
	}
	if _, why := encodingOnly("net/x.c", []byte(strings.Replace(up, "return 10;", "return 20;", 1)), []byte(rw)); !strings.Contains(why, "limit_lp()") {
		t.Errorf("a moved copy that is not upstream's: got %q", why)
	}
	typedef := strings.Replace(encUnit, "# 1 \"include/linux/x.h\" 1\n", "# 1 \"include/linux/x.h\" 1\ntypedef u16 len_t;\n", 1)
	upTypedef := strings.Replace(strings.Replace(typedef, "u16", "u32", 1), "get_a(s)", "s_flag(s, A)", 1)
	upTypedef = strings.Replace(upTypedef, "static inline int get_a(const struct s *s) { return s->a; }\n", "", 1)
	if _, why := encodingOnly("net/x.c", []byte(upTypedef), []byte(typedef)); !strings.Contains(why, "outside functions") {
		t.Errorf("a header typedef upstream changes: got %q", why)
	}
}
