package ast

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSignature(t *testing.T) {
	for _, c := range []struct {
		decl, name string
		want       Signature
		ok         bool
	}{
		{"int hda_ipc_msg_data(struct snd_sof_dev *sdev,\n\t\t     struct snd_pcm_substream *substream,\n\t\t     void *p, size_t sz)", "hda_ipc_msg_data",
			Signature{"int", []string{"struct snd_sof_dev *", "struct snd_pcm_substream *", "void *", "size_t"}}, true},
		{"int (*ipc_msg_data)(struct snd_sof_dev *sdev, /* the device */\n struct snd_sof_pcm_stream *sps, void *p, size_t sz)", "ipc_msg_data",
			Signature{"int", []string{"struct snd_sof_dev *", "struct snd_sof_pcm_stream *", "void *", "size_t"}}, true},
		{"static void f(void)", "f", Signature{"void", nil}, true},
		{"void (*cb)(unsigned int, struct foo, void (*done)(int x))", "cb",
			Signature{"void", []string{"unsigned int", "struct foo", "void ( * done ) ( int x )"}}, true},
		{"const char *name(const u8 __user *buf, size_t)", "name", Signature{"const char *", []string{"const u8 __user *", "size_t"}}, true},
		{"int x;", "x", Signature{}, false},
		{"int f(int a", "f", Signature{}, false},
	} {
		got, ok := ParseSignature(c.decl, c.name)
		if ok != c.ok || !cmp.Equal(got, c.want) {
			t.Errorf("ParseSignature(%q) = %+v, %v; want %+v, %v", c.decl, got, ok, c.want, c.ok)
		}
	}
	for typ, want := range map[string]bool{"struct a *": true, "const u8 __user *": true, "size_t": false, "void ( * done ) ( int x )": false, "struct a * const": false} {
		if IsPointer(typ) != want {
			t.Errorf("IsPointer(%q) = %v", typ, !want)
		}
	}
}

func TestPointerRetyped(t *testing.T) {
	sig := func(ret string, ps ...string) Signature { return Signature{ret, ps} }
	for _, c := range []struct {
		a, b Signature
		want bool
	}{
		{sig("int", "struct d *", "struct sub *", "void *"), sig("int", "struct d *", "struct sps *", "void *"), true},
		{sig("int", "int"), sig("int", "int"), true},
		{sig("int", "struct a *"), sig("long", "struct a *"), false},        // the return type
		{sig("int", "struct a *"), sig("int", "struct a *", "bool"), false}, // a new parameter
		{sig("int", "int"), sig("int", "long"), false},                      // not pointers
		{sig("int", "struct a *"), sig("int", "void ( * ) ( int )"), false}, // a function pointer
	} {
		if got := PointerRetyped(c.a, c.b); got != c.want {
			t.Errorf("PointerRetyped(%v, %v) = %v", c.a, c.b, got)
		}
	}
}
