package sites

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/patch"
)

// TestCounterpart pairs a new read of a member with what the old code read
// at the same place, on hunks of real fixes.
func TestCounterpart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hunk   string // diff lines
		access string // the read, as tokens joined by spaces
		nth    int    // which occurrence of it (from 0)
		want   string // the old tokens, "" for none
	}{{
		// HID: wacom: Fix OOB write in wacom_hid_set_device_mode()
		name: "constant",
		hunk: `-	if (r) {
-		r->field[0]->value[hid_data->inputmode_index] = 2;
+	if (r && hid_data->inputmode_field_index >= 0 &&
+	    hid_data->inputmode_field_index < r->maxfield) {
+		struct hid_field *field = r->field[hid_data->inputmode_field_index];`,
		access: "hid_data -> inputmode_field_index", nth: 2,
		want: "0",
	}, {
		// the fix's new check reads it where the old code read nothing
		name: "new-check",
		hunk: `-	if (r) {
-		r->field[0]->value[hid_data->inputmode_index] = 2;
+	if (r && hid_data->inputmode_field_index >= 0 &&
+	    hid_data->inputmode_field_index < r->maxfield) {
+		struct hid_field *field = r->field[hid_data->inputmode_field_index];`,
		access: "hid_data -> inputmode_field_index",
		want:   "",
	}, {
		// f2fs: fix UAF of dic->inode (a helper over the object's field)
		name: "expression",
		hunk: ` 		printk_ratelimited("%sF2FS-fs (%s): lzo decompress failed, ret:%d\n",
-				KERN_ERR, F2FS_I_SB(dic->inode)->sb->s_id, ret);
+				KERN_ERR, dic->sbi->sb->s_id, ret);
 		return -EIO;`,
		access: "dic -> sbi",
		want:   "F2FS_I_SB ( dic -> inode )",
	}, {
		// the same tokens in a context line are not what the fix replaced
		name: "context",
		hunk: ` 	c->bytes += 0;
+	c->bytes += c->first_port;`,
		access: "c -> first_port",
		want:   "",
	}, {
		// a new argument next to the old ones replaces nothing
		name: "added",
		hunk: `-	pr_info("conn %u: %llu bytes\n", c->port, c->bytes);
+	pr_info("conn %u (first %u): %llu bytes\n", c->port, c->first_port, c->bytes);`,
		access: "c -> first_port",
		want:   "",
	}, {
		// the new statement still reads the old expression: the member is
		// added to it, it replaces nothing
		name: "still-read",
		hunk: `-	return a->x + b;
+	return a->m + a->x + b;`,
		access: "a -> m",
		want:   "",
	}, {
		// two old statements fit as well: which one the read replaces is
		// not known
		name: "tie",
		hunk: `-	f(a, c->x);
-	f(a, c->y);
+	f(a, c->m);`,
		access: "c -> m",
		want:   "",
	}, {
		// two tokens before and one after are too little to tell
		name: "weak-context",
		hunk: `-	if (x)
-		return -EINVAL;
+	if (y)
+		return c->m;`,
		access: "c -> m",
		want:   "",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &patch.Hunk{}
			for _, l := range strings.Split(tc.hunk, "\n") {
				h.Lines = append(h.Lines, patch.Line{Op: patch.Op(l[0]), Text: l[1:]})
			}
			ntoks, nch, _ := side(h, patch.Delete)
			ot, och, _ := side(h, patch.Insert)
			nt := texts(ntoks)
			acc := strings.Fields(tc.access)
			j, n := -1, 0
			for i := range nt {
				if i+len(acc) <= len(nt) && strings.Join(nt[i:i+len(acc)], " ") == tc.access {
					if n == tc.nth {
						j = i
						break
					}
					n++
				}
			}
			if j < 0 || !nch[j] {
				t.Fatalf("access %q not on an inserted line of %q", tc.access, nt)
			}
			old, _ := counterpart(ot, och, nt, j, j+len(acc))
			if diff := cmp.Diff(tc.want, strings.Join(texts(old), " ")); diff != "" {
				t.Errorf("counterpart (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalleeOf names the call whose argument list holds a token, and no
// call for an index.
func TestCalleeOf(t *testing.T) {
	for _, tc := range []struct{ code, at, want string }{
		{"x = page_array_alloc ( dic -> sbi , n ) ;", "dic", "page_array_alloc"},
		{"x = g ( y ) + a [ dic -> sbi ] ;", "dic", ""},
		{"f ( a , h ( b ) , dic -> sbi ) ;", "dic", "f"},
		{"return dic -> sbi ;", "dic", ""},
	} {
		toks := strings.Fields(tc.code)
		j := slices.Index(toks, tc.at)
		if got := calleeOf(toks, j); got != tc.want {
			t.Errorf("calleeOf(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

// TestExpression accepts one balanced expression and nothing that assigns.
func TestExpression(t *testing.T) {
	for code, want := range map[string]bool{
		"F2FS_I_SB ( dic -> inode )": true,
		"0":                          true,
		"a -> y *= 2":                false,
		"a , b":                      false,
		"f ( a , b )":                true,
		"x ) + ( y":                  false,
		"c ? a : b":                  false,
	} {
		if got := expression(strings.Fields(code)); got != want {
			t.Errorf("expression(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestFailure tells a failure's return from one that hands the object on.
func TestFailure(t *testing.T) {
	for code, want := range map[string]bool{
		"if ( ! o ) return NULL ;":          true,
		"return - ENOMEM ;":                 true,
		"if ( error ) return error ;":       true,
		"if ( ret < 0 ) { return ret ; }":   true,
		"return ERR_PTR ( - EINVAL ) ;":     true,
		"if ( id < 0 ) return o ;":          false,
		"return 0 ;":                        false,
		"if ( error ) return other ;":       false,
		"if ( error ) foo ( ) ; return e ;": false,
	} {
		toks := ast.Tokenize([]byte(code))
		i := -1
		for k, tk := range toks {
			if tk.Text == "return" {
				i = k
			}
		}
		if got := failure(toks, i); got != want {
			t.Errorf("failure(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestAddressTaken tells a member access whose address is taken or that a
// prefix ++/-- updates (a write the assignment scan does not see) from a
// plain read.
func TestAddressTaken(t *testing.T) {
	for src, want := range map[string]bool{
		"atomic_inc(&dlfb->":     true,
		"x = &(s)->":             true,
		"p = &s->a.":             true,
		"++s->":                  true,
		"--port->":               true,
		"if (s->":                false,
		"n = mask & s->":         false,
		"v = (int)s->":           false,
		"foo(s->":                false,
		"return (&s->q)->":       false, // the address of q, not of the member
		"y = f(s)->":             false,
		"total = ((s)) ->":       false,
		"a[i] = &s->arr[k].item": true,
	} {
		toks := ast.Tokenize([]byte(src))
		// the tokens before the access operator the compiler points at
		if n := len(toks); n > 0 && (toks[n-1].Text == "->" || toks[n-1].Text == ".") {
			toks = toks[:n-1]
		} else {
			// "&s->arr[k].item": the access of .item; cut at its "."
			for i := n - 1; i >= 0; i-- {
				if toks[i].Text == "." {
					toks = toks[:i]
					break
				}
			}
		}
		if got := addressTaken(toks); got != want {
			t.Errorf("%q: addressTaken %v, want %v", src, got, want)
		}
	}
}
