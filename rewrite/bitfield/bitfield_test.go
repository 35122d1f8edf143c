package bitfield

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/layout"
	"github.com/kprewrite/kprewrite/rewrite/member"
)

const prelude = `#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <stdbool.h>
typedef unsigned char u8; typedef signed char s8; typedef unsigned short u16;
typedef unsigned int u32; typedef unsigned long long u64;
#define offsetofend(T, M) (offsetof(T, M) + sizeof(((T *)0)->M))
#define static_assert _Static_assert
`

// layouts compiles a struct definition with gcc -g and reads it back.
func layouts(t *testing.T, def string) *layout.Struct {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "l.c")
	os.WriteFile(src, []byte(prelude+def+"\nstruct t *probe;\n"), 0o644)
	obj := filepath.Join(dir, "l.o")
	if out, err := exec.Command("gcc", "-g", "-c", "-o", obj, src).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	ls, err := layout.ReadObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return ls["struct t"]
}

// TestAccessorsMatchBitfields generates accessors for a new member from the
// DWARF of the base and upstream structs, then runs a program that checks,
// for every value, that the accessors and the real bitfield agree and that
// no other bit of the struct changes.
func TestAccessorsMatchBitfields(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	cases := []struct {
		name, base, newMember, typ string
		width                      int
		values                     []int
	}{
		{"u8 one bit", "int id; u8 a:1, b:1, c:1; u8 next;", "u8 a:1, b:1, c:1, n:1;", "u8", 1, []int{0, 1}},
		{"u8 two bits", "int id; u8 a:1, b:1, c:1; u8 next;", "u8 a:1, b:1, c:1, n:2;", "u8", 2, []int{0, 1, 2, 3}},
		{"signed", "u32 mtu; s8 l:3; u8 next;", "s8 l:3, n:3;", "s8", 3, []int{-4, -3, -1, 0, 1, 3}},
		{"bool", "int id; bool a:1; u8 next;", "bool a:1, n:1;", "bool", 1, []int{0, 1}},
		{"u32 unit", "u8 d; u32 q:10, p:3; u32 mtu;", "u32 q:10, p:3, n:6;", "u32", 6, []int{0, 1, 17, 63}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := "struct t { " + c.base + " };"
			upBody := strings.Replace(c.base, strings.SplitN(c.newMember, ", n:", 2)[0]+";", c.newMember, 1)
			up := "struct t { " + upBody + " };"
			bl, ul := layouts(t, base), layouts(t, up)
			m := &member.Member{Key: "struct t", Name: "n", Getter: "t_get_n", Setter: "t_set_n"}
			decl := &ast.Member{Name: "n", Type: c.typ, Bits: fmt.Sprint(c.width)}
			m.Change = &change.Change{PostMember: decl}
			pl, why := fromDWARF(m, decl, bl, ul)
			if pl == nil {
				t.Fatalf("not placed: %s", why)
			}
			code := accessors(m, pl)
			var checks strings.Builder
			for _, v := range c.values {
				fmt.Fprintf(&checks, `
	for (int fill = 0; fill < 2; fill++) {
		union { struct t b; struct up u; unsigned char raw[sizeof(struct up)]; } x, before;
		memset(&x, fill ? 0xff : 0, sizeof(x));
		x.u.n = %[1]d;
		if (t_get_n(&x.b) != x.u.n) { printf("get %[1]d fill %%d: %%d != %%d\n", fill, (int)t_get_n(&x.b), (int)x.u.n); return 1; }
		memset(&x, fill ? 0xff : 0, sizeof(x));
		before = x;
		t_set_n(&x.b, %[1]d);
		if (x.u.n != (%[2]s)%[1]d) { printf("set %[1]d fill %%d: %%d\n", fill, (int)x.u.n); return 1; }
		x.u.n = before.u.n;
		if (memcmp(&x, &before, sizeof(x))) { printf("set %[1]d touched other bits\n"); return 1; }
	}`, v, c.typ)
			}
			prog := prelude + base + "\nstruct up { " + upBody + " };\n" + code + "\nint main(void)\n{" + checks.String() + "\n\treturn 0;\n}\n"
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "p.c"), []byte(prog), 0o644)
			if out, err := exec.Command("gcc", "-O2", "-Wall", "-Werror", "-Wno-unused-function", "-o", filepath.Join(dir, "p"), filepath.Join(dir, "p.c")).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s\n%s", err, out, prog)
			}
			if out, err := exec.Command(filepath.Join(dir, "p")).CombinedOutput(); err != nil {
				t.Fatalf("accessors disagree with the bitfield: %s\n%s", out, code)
			}
		})
	}
}

// A full unit: the upstream member moves the next member, so it is refused.
func TestFullUnitRefused(t *testing.T) {
	t.Parallel()
	bl := layouts(t, "struct t { u8 a:4, b:4; u8 next; };")
	ul := layouts(t, "struct t { u8 a:4, b:4, n:1; u8 next; };")
	m := &member.Member{Key: "struct t", Name: "n"}
	decl := &ast.Member{Name: "n", Type: "u8", Bits: "1"}
	if pl, why := fromDWARF(m, decl, bl, ul); pl != nil || !strings.Contains(why, "no spare bits") {
		t.Errorf("placed %+v (%s)", pl, why)
	}
}
