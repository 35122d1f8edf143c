package series_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/patch"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/series"
	"github.com/kprewrite/kprewrite/transforms"
	"github.com/kprewrite/kprewrite/tree"
)

const sys = "../testdata/kernels/sys"

// followUp changes sethostname again, on top of 01-define2.patch.
const followUp = `Subject: [PATCH] uts: keep the length in one place

---
--- a/kernel/sys.c
+++ b/kernel/sys.c
@@ -18,6 +18,6 @@ SYSCALL_DEFINE2(sethostname, char __user *, name, int, len)
 {
 	if (len <= 0 || len > __NEW_UTS_LEN)
 		return -EINVAL;
-	hostname_len = len;
+	hostname_len = min(len, __NEW_UTS_LEN);
 	return 0;
 }
`

func readPatch(t *testing.T, data []byte) *patch.Patch {
	t.Helper()
	set, err := patch.Read("p", data, patch.Options{Strip: -1})
	if err != nil || len(set.Patches) != 1 {
		t.Fatalf("%v", err)
	}
	return set.Patches[0]
}

func TestRewriteSet(t *testing.T) {
	t.Parallel()
	env := rewritetest.Env(t, sys, sys+"/config")
	first, err := os.ReadFile(sys + "/patches/01-define2.patch")
	if err != nil {
		t.Fatal(err)
	}
	const from = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"
	set, err := patch.Read("two.mbox", []byte(from+string(first)+"\n"+from+followUp), patch.Options{Strip: -1})
	if err != nil || len(set.Patches) != 2 {
		t.Fatalf("mbox: %v", err)
	}
	var reported [][]rewrite.Finding
	out, err := series.New(env, rewrite.Options{Dialect: "klp"}, transforms.All()).RewriteSet(set, func(s *rewrite.Session) {
		reported = append(reported, s.Findings())
	})
	if err != nil {
		t.Fatal(err)
	}
	// the syscall hazard is reported with the patch that brings it only
	if len(reported) != 2 || len(reported[0]) != 1 || reported[0][0].Transform != "syscall" || len(reported[1]) != 0 {
		t.Fatalf("reported %+v", reported)
	}
	// the rewritten series applies in order; the second part carries only
	// its own line, the macro and include came with the first
	rw, err := patch.Read("out", out, patch.Options{Strip: 1})
	if err != nil || len(rw.Patches) != 2 {
		t.Fatalf("rewritten series: %v\n%s", err, out)
	}
	second := string(patch.Render(rw.Patches[1], patch.RenderOptions{}))
	if strings.Contains(second, "+KLP_SYSCALL_DEFINE2") || strings.Contains(second, "livepatch_helpers.h") {
		t.Errorf("the second part repeats the first:\n%s", second)
	}
	base, err := tree.Open(sys)
	if err != nil {
		t.Fatal(err)
	}
	ov := tree.NewOverlay(base)
	for i, p := range rw.Patches {
		res, err := p.Apply(ov)
		if err != nil {
			t.Fatalf("part %d does not apply in order: %v", i+1, err)
		}
		for _, r := range res {
			ov.Set(r.Path, r.New)
		}
	}
	got, _ := ov.ReadFile("kernel/sys.c")
	for _, want := range []string{"KLP_SYSCALL_DEFINE2(sethostname,", "hostname_len = min(len, __NEW_UTS_LEN);", "#include <linux/livepatch_helpers.h>"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the series' result lacks %q:\n%s", want, got)
		}
	}
}

func TestRewriteSetRefusesPatchThatDoesNotApply(t *testing.T) {
	t.Parallel()
	env := rewritetest.Env(t, sys, sys+"/config")
	// a patch of a file the tree does not have
	missing := "--- a/kernel/none.c\n+++ b/kernel/none.c\n@@ -1 +1 @@\n-a\n+b\n"
	set := &patch.Set{Name: "missing", Patches: []*patch.Patch{readPatch(t, []byte(missing))}}
	_, err := series.New(env, rewrite.Options{Dialect: "klp"}, transforms.All()).RewriteSet(set, func(*rewrite.Session) {})
	var in *series.InputError
	if err == nil || !errors.As(err, &in) {
		t.Fatalf("want an InputError, got %v", err)
	}
}

// A later patch that undoes an earlier patch's rewrite (it takes the
// offset of the member the first one kept in a hole: now the member must
// be in the struct) reports the finding again, unresolved: the series
// needs an engineer, as the two patches squashed would.
func TestRewriteSetReportsUndoneRewrite(t *testing.T) {
	t.Parallel()
	const conn = "../testdata/kernels/conn"
	env := rewritetest.Env(t, conn, conn+"/config")
	first, err := os.ReadFile(conn + "/patches/01-hole-bool.patch")
	if err != nil {
		t.Fatal(err)
	}
	const second = `Subject: [PATCH] conn: say where closing is

---
--- a/net/conn/conn_core.c
+++ b/net/conn/conn_core.c
@@ -28,6 +28,7 @@
 
 void conn_account(struct conn *c, u32 len)
 {
+	pr_info("closing at %zu\n", offsetof(struct conn, closing));
 	if (c->closing)
 		return;
 	c->bytes += len;
`
	const from = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"
	set, err := patch.Read("two.mbox", []byte(string(first)+"\n"+from+second), patch.Options{Strip: -1})
	if err != nil || len(set.Patches) != 2 {
		t.Fatalf("mbox: %v", err)
	}
	var reported [][]rewrite.Finding
	if _, err := series.New(env, rewrite.Options{Dialect: "klp"}, transforms.All()).RewriteSet(set, func(s *rewrite.Session) {
		reported = append(reported, s.Findings())
	}); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 2 {
		t.Fatalf("reported %d patches", len(reported))
	}
	again := false
	for _, f := range reported[1] {
		if f.Subject == "struct conn.closing" && !f.Resolved {
			again = true
		}
	}
	if !again {
		t.Errorf("the second patch undoes the first's rewrite of struct conn.closing unseen: %+v", reported[1])
	}
}
