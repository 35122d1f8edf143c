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

func TestEncodingOnlyRefuses(t *testing.T) {
	for _, c := range []struct{ name, from, to, why string }{
		{"a dropped condition", "\tif (!pkt_sock_get_running(po))\n", "\tif (1)\n", `"1" differs from upstream`},
		{"an extra statement", "\tlock();\n}", "\tlock();\n\tlock();\n}", "differs from upstream outside a call"},
		{"a dropped statement", "\tlock();\n}", "}", `upstream's "lock" is missing`},
		{"a changed global", "static_assert(sizeof(int) == 4);", "static int extra;", "outside its functions"},
		{"no own function", "RUNNING, 1", "RUNNING, 0", "defines no function of its own"},
	} {
		base := encRewritten
		if c.name == "no own function" {
			base = encUpstream
		}
		rw := strings.Replace(base, c.from, c.to, 1)
		if rw == base {
			t.Fatalf("%s: the case does not change the file", c.name)
		}
		_, why := encodingOnly("net/x.c", []byte(encUpstream), []byte(rw))
		if !strings.Contains(why, c.why) {
			t.Errorf("%s: got %q, want it to say %q", c.name, why, c.why)
		}
	}
}
