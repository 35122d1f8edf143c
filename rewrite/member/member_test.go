package member

import (
	"testing"
)

func TestNeedsInit(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{
		"spinlock_t":          true,
		" struct list_head ":  true, // spaces around the type do not matter
		"struct mutex":        true,
		"atomic_t":            false, // zero is a valid atomic
		"refcount_t":          false,
		"struct work_struct":  false, // known, but no constructor here
		"u32":                 false,
		"struct unknown_type": false,
	} {
		if got := NeedsInit(typ); got != want {
			t.Errorf("NeedsInit(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestCtor(t *testing.T) {
	t.Parallel()
	if c, ok := Ctor("wait_queue_head_t"); !ok || c != "init_waitqueue_head(v);" {
		t.Errorf("wait_queue_head_t: %q %v", c, ok)
	}
	if c, ok := Ctor("struct delayed_work"); !ok || c != "" {
		t.Errorf("struct delayed_work: %q %v", c, ok)
	}
	if _, ok := Ctor("int"); ok {
		t.Error("int has a constructor")
	}
}

func TestTagOf(t *testing.T) {
	t.Parallel()
	if got := TagOf("struct slave"); got != "slave" {
		t.Errorf("got %q", got)
	}
	if got := TagOf("union u"); got != "u" {
		t.Errorf("got %q", got)
	}
}

// TestReadType: a bitfield narrower than int whose type is int or wider
// reads as an int (C's promotion); narrower types and full-width fields
// keep their type.
func TestReadType(t *testing.T) {
	for _, c := range []struct {
		typ   string
		width int64
		want  string
	}{
		{"u32", 4, "int"}, {"unsigned int", 31, "int"}, {"u64", 12, "int"},
		{"u32", 32, "u32"}, {"u64", 40, "u64"}, {"u8", 3, "u8"}, {"bool", 1, "bool"}, {"unsigned", 1, "int"},
	} {
		if got := ReadType(c.typ, c.width); got != c.want {
			t.Errorf("ReadType(%q, %d) = %q, want %q", c.typ, c.width, got, c.want)
		}
	}
}

// TestBitWidth: a width is a number as C reads it; an expression or a
// macro is not (fmt.Sscan, used before, read "2 * 4" as 2).
func TestBitWidth(t *testing.T) {
	t.Parallel()
	type got struct {
		w  int64
		ok bool
	}
	for bits, want := range map[string]got{
		"3": {3, true}, " 1 ": {1, true}, "0": {0, true}, "0x3": {3, true},
		"2 * 4": {0, false}, "FLAG_BITS": {0, false}, "-1": {0, false}, "": {0, false},
	} {
		w, ok := BitWidth(bits)
		if ok != want.ok || ok && w != want.w {
			t.Errorf("BitWidth(%q) = %d, %v; want %d, %v", bits, w, ok, want.w, want.ok)
		}
	}
}
