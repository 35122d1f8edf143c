package oracle_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/build"
	"github.com/kprewrite/kprewrite/internal/kperr"
	"github.com/kprewrite/kprewrite/kbuild"
	"github.com/kprewrite/kprewrite/oracle"
)

const flags = "../testdata/kernels/flags"

func newOracle(t *testing.T) *oracle.Oracle {
	t.Helper()
	env, err := kbuild.Open(flags, flags+"/config", kbuild.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Prepare(); err != nil {
		t.Fatal(err)
	}
	return &oracle.Oracle{Env: env, Dir: t.TempDir()}
}

// withoutMember returns port.h with the declaration of member taken out of
// struct port (a one-line member, or one name of a bitfield group).
func withoutMember(t *testing.T, old, new string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(flags + "/include/linux/port.h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("port.h has no %q", old)
	}
	return map[string][]byte{"include/linux/port.h": []byte(strings.Replace(string(data), old, new, 1))}
}

func TestMemberUses(t *testing.T) {
	t.Parallel()
	o := newOracle(t)
	files := withoutMember(t, "carrier:1;", "carrier_gone:1;")
	res, err := o.MemberUses(context.Background(), files, []string{"drivers/port/port_main.c", "drivers/port/port_stats.c"})
	if err != nil {
		t.Fatal(err)
	}
	uses := res.Of("struct port", "carrier")
	var got []string
	for _, u := range uses {
		got = append(got, u.File)
	}
	// one assignment in port_main.c, one read inside pr_info's arguments
	if len(uses) != 2 || got[0] != "drivers/port/port_main.c" || got[1] != "drivers/port/port_stats.c" {
		t.Fatalf("want the uses in port_main.c and port_stats.c, got %+v", uses)
	}
	if uses[0].Line != 31 || uses[0].Struct != "struct port" {
		t.Errorf("want port_main.c:31 of struct port, got %+v", uses[0])
	}
	if len(res.Of("struct port", "speed")) != 0 {
		t.Error("a member that still exists has no uses to report")
	}
	if o.Err() != nil {
		t.Errorf("no environment failure expected, got %v", o.Err())
	}
}

func TestIdentUses(t *testing.T) {
	t.Parallel()
	o := newOracle(t)
	// header2c's question: rename a macro in an overlay header, and every
	// function that uses it fails to compile where it does
	data, err := os.ReadFile(flags + "/include/linux/printk.h")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"include/linux/printk.h": []byte(strings.Replace(string(data), "#define pr_info(", "#define pr_info_renamed(", 1))}
	ids, _, err := o.IdentUses(context.Background(), files, []string{"drivers/port/port_main.c", "drivers/port/port_stats.c"}, map[string]bool{"pr_info": true})
	if err != nil {
		t.Fatal(err)
	}
	// gcc reports an implicit declaration at its first use in a unit (the
	// callers then learn their functions from the use sites' lines)
	per := map[string]int{}
	for _, id := range ids {
		if id.Name != "pr_info" {
			t.Errorf("unexpected identifier %+v", id)
		}
		per[id.File]++
	}
	if len(ids) != 2 || per["drivers/port/port_main.c"] != 1 || per["drivers/port/port_stats.c"] != 1 || ids[0].Line != 32 {
		t.Fatalf("want the first use in port_main.c (line 32) and in port_stats.c, got %+v", ids)
	}
}

func TestNoCompilerIsAFailure(t *testing.T) {
	o := newOracle(t)
	t.Setenv("PATH", t.TempDir()) // no gcc
	_, err := o.MemberUses(context.Background(), withoutMember(t, "carrier:1;", "carrier_gone:1;"), []string{"drivers/port/port_main.c"})
	if err == nil || !kperr.IsEnvironment(err) {
		t.Fatalf("want a toolchain failure, got %v", err)
	}
	if o.Err() == nil {
		t.Error("the oracle must remember the environment failure")
	}
}

// TestAddedDiagnostics: an error the files already give is not added;
// one the change brings is, and so is a second copy of an existing one.
func TestAddedDiagnostics(t *testing.T) {
	t.Parallel()
	o := newOracle(t)
	src := "drivers/port/port_main.c"
	data, err := os.ReadFile(flags + "/" + src)
	if err != nil {
		t.Fatal(err)
	}
	bad := string(data) + "\nint kprewrite_bad(void) { return undeclared_a; }\n"
	before := map[string][]byte{src: []byte(bad)}
	errors := func(d build.Diagnostic) bool { return d.Severity == "error" }
	got, err := o.AddedDiagnostics(context.Background(), before, before, []string{src}, errors)
	if err != nil || len(got) != 0 {
		t.Fatalf("the same files add nothing: %v, %v", got, err)
	}
	after := map[string][]byte{src: []byte(bad + "int kprewrite_worse(void) { return undeclared_b; }\nint kprewrite_again(void) { return undeclared_a; }\n")}
	got, err = o.AddedDiagnostics(context.Background(), after, before, []string{src}, errors)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, d := range got {
		msgs = append(msgs, d.Message)
	}
	if len(got) != 2 || !strings.Contains(msgs[0], "undeclared_b") || !strings.Contains(msgs[1], "undeclared_a") {
		t.Errorf("want the new error and the second undeclared_a, got %q", msgs)
	}
}
