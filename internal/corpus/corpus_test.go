package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testDiff = `diff -Nrup a/include/x.h b/include/x.h
--- a/include/x.h	2026-01-01
+++ b/include/x.h	2026-01-02
@@ -1,4 +1,5 @@
 struct foo {
 	int a;
+	int b;
 };
 
@@ -10,3 +11,3 @@ struct bar {
 struct bar {
-	int c;
+	long c;
 };
diff -Nrup a/x.c b/x.c
--- a/x.c	2026-01-01
+++ b/x.c	2026-01-02
@@ -5,3 +5,4 @@ void f(void)
 {
 	foo.a = 1;
+	foo.b = 2;
 }
@@ -20,3 +21,2 @@ void g(void)
 {
-	bar.c = 0;
 }
`

func manifest(t *testing.T, text string) *Manifest {
	t.Helper()
	m, err := parseManifest(bufio.NewScanner(strings.NewReader(text)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseDiff(t *testing.T) {
	files := parseDiff(testDiff)
	var got []string
	for _, f := range files {
		for _, h := range f.Hunks {
			got = append(got, h.Name())
		}
	}
	want := []string{
		"include/x.h hunk 1 (@@ -1 @@)",
		"include/x.h hunk 2 (@@ -10 @@ struct bar {)",
		"x.c hunk 1 (@@ -5 @@ void f(void))",
		"x.c hunk 2 (@@ -20 @@ void g(void))",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("hunks (-want +got):\n%s", d)
	}
	if got := files[1].Hunks[1].Changed(); !cmp.Equal(got, []string{"\tbar.c = 0;"}) {
		t.Errorf("changed lines of x.c hunk 2 = %q", got)
	}
}

func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"before fix", "kind other\n", `"kind" before the first "fix" line`},
		{"bad kind", "fix a\nkind strange\n", `kind "strange" is not one of`},
		{"duplicate id", "fix a\nsubject s\nkind other\nfile x.c\nfix a\n", `fix id "a" is not a fresh`},
		{"incomplete", "fix a\nsubject s\nkind other\n", "fix a needs a subject, a kind and at least one file or hunk"},
		{"hunk without anchor", "fix a\nhunk x.c\n", "hunk needs a path and an anchor text"},
		{"unknown key", "fix a\nfiles x.c\n", `unknown key "files"`},
		{"decision without a struct", "fix a\ndecide foo.m=0\n", `decide wants "struct X.member=EXPR"`},
		{"decision without a value", "fix a\ndecide struct foo.m=\n", `decide wants "struct X.member=EXPR"`},
	} {
		_, err := parseManifest(bufio.NewScanner(strings.NewReader(tc.text)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestAssignChecksTheManifest(t *testing.T) {
	files := parseDiff(testDiff)
	m := manifest(t, `
fix foo-b
subject add foo.b
kind member-added
hunk include/x.h int b;
hunk x.c foo.b

fix bar-c
subject retype bar.c
kind member-retyped
hunk include/x.h struct bar
file x.c

fix ghost
subject nothing
kind other
file missing.c
hunk include/x.h no such text
`)
	res := assign(m, files)
	want := []string{
		"x.c hunk 1 (@@ -5 @@ void f(void)) is claimed by both foo-b and bar-c",
		"fix ghost: file missing.c has no hunk in the diff",
		`fix ghost: no hunk of include/x.h matches "no such text" (manifest line 18)`,
	}
	if d := cmp.Diff(want, res.errors); d != "" {
		t.Errorf("manifest errors (-want +got):\n%s", d)
	}
	if got := res.owner[files[0].Hunks[1]].ID; got != "bar-c" {
		t.Errorf("include/x.h hunk 2 belongs to %s, want bar-c", got)
	}
}

func TestRenderPatchRenumbersTheHunksItTakes(t *testing.T) {
	files := parseDiff(testDiff)
	m := manifest(t, `
fix bar-c
subject retype bar.c
kind member-retyped
hunk include/x.h struct bar
hunk x.c bar.c
note A note.
`)
	res := assign(m, files)
	dir := t.TempDir()
	for _, tr := range []string{"old", "new"} {
		for _, p := range []string{"include/x.h", "x.c"} {
			os.MkdirAll(filepath.Join(dir, tr, filepath.Dir(p)), 0o755)
			os.WriteFile(filepath.Join(dir, tr, p), nil, 0o644)
		}
	}
	got := renderPatch(m.Fixes[0], files, res.owner, filepath.Join(dir, "old"), filepath.Join(dir, "new"))
	want := `From: Debian linux-source-6.1 6.1.170-3..6.1.176-1 <corpus@kprewrite>
Subject: [PATCH] retype bar.c

Corpus case bar-c (kind: member-retyped), cut from the diff between Debian's
linux-source-6.1 6.1.170-3 and 6.1.176-1 by scripts/corpus.sh.

A note.
---
diff --git a/include/x.h b/include/x.h
--- a/include/x.h
+++ b/include/x.h
@@ -10,3 +10,3 @@ struct bar {
 struct bar {
-	int c;
+	long c;
 };
diff --git a/x.c b/x.c
--- a/x.c
+++ b/x.c
@@ -20,3 +20,2 @@ void g(void)
 {
-	bar.c = 0;
 }
-- 
2.39.5
`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("patch (-want +got):\n%s", d)
	}
}

func TestUnclaimedStructHunks(t *testing.T) {
	dir := t.TempDir()
	old := "struct foo {\n\tint a;\n};\n\n/* a comment */\n\n\n\n\nstruct bar {\n\tint c;\n};\n"
	new := "struct foo {\n\tint a;\n\tint b;\n};\n\n/* a comment */\n\n\n\n\nstruct bar {\n\tlong c;\n};\n"
	for tr, text := range map[string]string{"old": old, "new": new} {
		os.MkdirAll(filepath.Join(dir, tr, "include"), 0o755)
		os.WriteFile(filepath.Join(dir, tr, "include/x.h"), []byte(text), 0o644)
	}
	files := parseDiff(testDiff)
	m := manifest(t, "fix bar-c\nsubject s\nkind member-retyped\nhunk include/x.h struct bar\n")
	res := assign(m, files)
	got := unclaimedStructHunks(files, res.owner, filepath.Join(dir, "old"), filepath.Join(dir, "new"))
	want := []string{"include/x.h hunk 1 (@@ -1 @@): struct foo"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("unclaimed (-want +got):\n%s", d)
	}
}

func TestEnclosingIgnoresCommentsAndFunctionBodies(t *testing.T) {
	dir := t.TempDir()
	src := `/* struct fake { in a comment */
static inline int f(struct foo *p)
{
	return p->a;
}
typedef struct {
	int x;
	union {
		int y;
	} u;
} anon_t;
struct baz { int z; };
`
	p := filepath.Join(dir, "x.h")
	os.WriteFile(p, []byte(src), 0o644)
	got := enclosing(p)[1:14]
	want := []string{"", "", "", "", "", "struct <anonymous>", "struct <anonymous>", "struct <anonymous>", "struct <anonymous>", "struct <anonymous>", "struct <anonymous>", "struct baz", ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("enclosing (-want +got):\n%s", d)
	}
}

func TestTable(t *testing.T) {
	got := table([]Result{
		{ID: "b", Kind: "member-removed", Class: classRefused, Reason: "struct-layout struct s.m (x.h): manual: keep it", Seconds: 12},
		{ID: "a", Kind: "member-added", Class: classProven, Seconds: 30},
		{ID: "c", Kind: "member-added", Class: classUnsafe, Reason: "verify: layout: size 8 -> 16", Seconds: 40},
		{ID: "d", Kind: "macro", Class: classNoOp, Reason: "no livepatch needed", Seconds: 5},
		{ID: "e", Kind: "member-added", Class: classRefused, Reason: "struct-layout struct t.n (y.h): manual: decide", Seconds: 20,
			Decisions: []string{"struct t.n=0"}, Decided: classProven},
	}, 6)
	want := "5 of 6 cases run.\n\n" +
		"| kind | cases | proven | no-op | refused | unproven | unsafe | broken | not-built | timeout | refused, proven with a decision |\n" +
		"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" +
		"| member-added | 3 | 1 | 0 | 1 | 0 | 1 | 0 | 0 | 0 | 1 |\n" +
		"| member-removed | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 0 | 0 |\n" +
		"| macro | 1 | 0 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |\n" +
		"| **all** | **5** | **1** | **1** | **2** | **0** | **1** | **0** | **0** | **0** | **1** |\n\n" +
		"- `a` (member-added): **proven** (30 s)\n" +
		"- `c` (member-added): **unsafe** — verify: layout: size 8 -> 16 (40 s)\n" +
		"- `e` (member-added): **refused** — struct-layout struct t.n (y.h): manual: decide; with the engineer's decision `--existing \"struct t.n=0\"`: **proven** (20 s)\n" +
		"- `b` (member-removed): **refused** — struct-layout struct s.m (x.h): manual: keep it (12 s)\n" +
		"- `d` (macro): **no-op** — no livepatch needed (5 s)\n"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

func TestWriteTableKeepsTheRestOfTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "corpus.md")
	os.WriteFile(p, []byte("# Title\n\n"+beginMark+"\nold table\n"+endMark+"\n\nafter\n"), 0o644)
	if err := writeTable(p, "new table\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := "# Title\n\n" + beginMark + "\nnew table\n" + endMark + "\n\nafter\n"
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("file (-want +got):\n%s", d)
	}
	fresh := filepath.Join(dir, "fresh.md")
	if err := writeTable(fresh, "only table\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(fresh); string(got) != "only table\n" {
		t.Errorf("fresh file = %q", got)
	}
}

func TestClassifyVerify(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, report, class, reason string }{
		{"proven", `{"ok":true,"checks":[{"name":"layout","ok":true}]}`, classProven, ""},
		{"unsafe", `{"ok":false,"checks":[{"name":"compile","ok":true},{"name":"layout","ok":false,"summary":"struct s: size 8 -> 16"}]}`,
			classUnsafe, "verify: layout: struct s: size 8 -> 16"},
		{"compile wins over layout", `{"ok":false,"checks":[{"name":"compile","ok":false,"summary":"does not compile"},{"name":"layout","ok":false,"summary":"0 identical"}]}`,
			classBroken, "verify: compile: does not compile; layout: 0 identical"},
		{"unproven", `{"ok":false,"checks":[{"name":"statics","ok":false,"summary":"f gains a static"},{"name":"split","skipped":true}]}`,
			classUnproven, "verify: statics: f gains a static"},
		{"nothing built", `{"ok":true,"checks":[{"name":"compile","ok":true,"skipped":true,"summary":"the config builds none of the files"}]}`,
			classNotBuilt, "verify: the config builds none of the files"},
		{"no report", `not json`, "", ""},
	} {
		p := filepath.Join(dir, "verify.json")
		os.WriteFile(p, []byte(tc.report), 0o644)
		class, reason := classifyVerify(p)
		if class != tc.class || reason != tc.reason {
			t.Errorf("%s: got %q, %q; want %q, %q", tc.name, class, reason, tc.class, tc.reason)
		}
	}
}

func TestFirstManualNamesWhatWasTried(t *testing.T) {
	p := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(p, []byte(`{"patches":[{"findings":[
		{"file":"a.h","kind":"note","subject":"x","action":"none"},
		{"file":"a.h","kind":"struct-layout","subject":"struct s.m","action":"bitfield","resolved":true},
		{"file":"b.h","kind":"struct-layout","subject":"struct t.n","action":"manual: keep the layout: use a shadow variable",
		 "tried":["hole: no hole\nsecond line","shadow: the member's address is used"]}]}]}`), 0o644)
	got := firstManual(p)
	want := "struct-layout struct t.n (b.h): manual: keep the layout: use a shadow variable [tried: hole: no hole; shadow: the member's address is used]"
	if got != want {
		t.Errorf("firstManual = %q, want %q", got, want)
	}
}

func TestNoneBuilt(t *testing.T) {
	// an empty rewrite of a patch whose files the config does not build
	// is a not-built case, not a no-op proof (apr-remove-void)
	dir := t.TempDir()
	for _, tc := range []struct {
		objects string
		want    bool
	}{
		{`[{"file":"include/linux/soc/qcom/apr.h","object":"not built"}]`, true},
		{`[{"file":"a.h","object":"not built"},{"file":"b.c","object":"vmlinux"}]`, false},
		{`[]`, false},
	} {
		p := filepath.Join(dir, "report.json")
		os.WriteFile(p, []byte(`{"patches":[{"objects":`+tc.objects+`}]}`), 0o644)
		if got := noneBuilt(p); got != tc.want {
			t.Errorf("%s: noneBuilt = %v, want %v", tc.objects, got, tc.want)
		}
	}
}

// TestRunTimeoutTerminates: at the time limit the case's process gets
// SIGTERM first, so kprewrite can remove its scratch directories from the
// work area, and the run reports the timeout.
func TestRunTimeoutTerminates(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "terminated")
	script := "trap 'touch " + mark + "; exit 3' TERM; sleep 30 & wait"
	start := time.Now()
	_, _, timedOut := run(200*time.Millisecond, filepath.Join(dir, "out"), "sh", "-c", script)
	if !timedOut {
		t.Fatal("the run did not time out")
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the process did not get SIGTERM: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the run took %v", d)
	}
}

// TestCrashedSeesCaughtAndUncaughtPanics classifies both kinds of crash as
// kprewrite's own.
func TestCrashedSeesCaughtAndUncaughtPanics(t *testing.T) {
	caught := []byte("kprewrite: internal error at replaced.go:93: runtime error: slice bounds out of range [124:123]; this is a bug\n")
	uncaught := []byte("panic: runtime error: index out of range\n\ngoroutine 1 [running]:\n")
	if !crashed(caught) || !crashed(uncaught) || crashed([]byte("kprewrite: error: no such file\n")) {
		t.Errorf("crashed: caught %v, uncaught %v", crashed(caught), crashed(uncaught))
	}
	if got := crashLine(caught); !strings.HasPrefix(got, "kprewrite: internal error at replaced.go:93") {
		t.Errorf("crashLine = %q", got)
	}
}
