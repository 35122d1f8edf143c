package sites_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

const conn = "../../testdata/kernels/conn"

// creation runs a transform that reads the creation sites and the frees of
// a struct of the conn tree, with a patch of that tree loaded.
func creation(t *testing.T, tag string) (*sites.Result, []*sites.Free, int) {
	return creationIn(t, conn, "include/linux/conn.h", tag)
}

func creationIn(t *testing.T, dir, header, tag string) (*sites.Result, []*sites.Free, int) {
	t.Helper()
	env := rewritetest.Env(t, dir, dir+"/config")
	s := rewritetest.Load(t, env, rewritetest.ReadPatch(t, conn+"/patches/01-hole-bool.patch"), rewrite.Options{Dialect: "klp"})
	var res *sites.Result
	var frees []*sites.Free
	calls := 0
	probe := &rewrite.Transform{Name: "probe", Requires: []rewrite.Requirement{sites.Creation, sites.FreeSites}, Run: func(p *rewrite.Pass) error {
		for range 2 { // the second answer comes from the session's facts
			r, err := sites.Find(p, header, tag)
			if err != nil {
				return err
			}
			if res != nil && r != res {
				t.Error("the creation sites were computed twice")
			}
			res = r
			calls++
		}
		var err error
		frees, _, err = sites.Frees(p, header, tag)
		return err
	}}
	if err := s.Run([]*rewrite.Transform{probe}); err != nil {
		t.Fatal(err)
	}
	return res, frees, calls
}

func TestCreationSites(t *testing.T) {
	t.Parallel()
	res, frees, calls := creation(t, "conn")
	if calls != 2 {
		t.Fatalf("calls %d", calls)
	}
	var heap *sites.Site
	for _, st := range res.Sites {
		if st.Kind == "heap" {
			heap = st
		}
	}
	if heap == nil || heap.File != "net/conn/conn_core.c" || heap.Fn != "conn_create" || heap.Alloc != "kzalloc" || !heap.Zeroed {
		t.Fatalf("want the zeroed kzalloc in conn_create, got %v", res.Sites)
	}
	if heap.Escape == "" {
		t.Errorf("conn_create returns the object: the site must say it escapes")
	}
	if !strings.Contains(res.Method, "compiler") || res.Scanned == 0 {
		t.Errorf("method %q, scanned %d", res.Method, res.Scanned)
	}
	if len(frees) != 1 || frees[0].Fn != "conn_destroy" {
		t.Errorf("frees: %+v", frees)
	}
}

// A blk-mq driver's per-request payload (tag_set.cmd_size = sizeof(...)) is
// a site of its own: made and zeroed by blk-mq, then the driver's
// .init_request; .exit_request runs before it goes. Zeroed only when the
// tree's block layer shows it.
func TestCreationSiteBlkMQPayload(t *testing.T) {
	t.Parallel()
	pdu := func(dir string) *sites.Site {
		t.Helper()
		res, _, _ := creationIn(t, dir, "include/linux/conn_queue.h", "conn_cmd")
		for _, st := range res.Sites {
			if st.Kind == sites.PDU {
				return st
			}
		}
		t.Fatalf("no payload site among %v", res.Sites)
		return nil
	}
	st := pdu(conn)
	if st.File != "net/conn/conn_queue.c" || st.Fn != "conn_queue_init" || st.Init != "conn_init_request" || st.Exit != "conn_exit_request" || !st.Zeroed || st.Unfit == "" {
		t.Errorf("payload site: %+v", st)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", conn+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "block/blk-mq.c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "block/blk-mq.c"), []byte(strings.ReplaceAll(string(data), " | __GFP_ZERO", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := pdu(dir); st.Zeroed {
		t.Errorf("a block layer that does not zero payloads gives zeroed payloads: %+v", st)
	}
}

// Linux 7.x allocates with macros that take the object, not its size
// (slave = kzalloc_obj(*slave)): the sizeof is inside the macro, and the
// macro is the allocator.
func TestCreationSiteInAllocationMacro(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", conn+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	edit := func(rel, old, new string) {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || !strings.Contains(string(data), old) {
			t.Fatalf("%s has no %q (%v)", rel, old, err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("include/linux/slab.h", "void *kzalloc(size_t size, gfp_t flags);",
		"void *kzalloc(size_t size, gfp_t flags);\n#define kzalloc_obj(P) kzalloc(sizeof(P), GFP_KERNEL)")
	edit("net/conn/conn_core.c", "c = kzalloc(sizeof(*c), GFP_KERNEL);", "c = kzalloc_obj(*c);")
	res, _, _ := creationIn(t, dir, "include/linux/conn.h", "conn")
	var heap *sites.Site
	for _, st := range res.Sites {
		if st.Kind == sites.Heap {
			heap = st
		}
		if st.Kind == sites.Size {
			t.Errorf("the allocation macro was taken for another use of sizeof: %v", st)
		}
	}
	if heap == nil || heap.Fn != "conn_create" || heap.Alloc != "kzalloc_obj" || !heap.Zeroed {
		t.Fatalf("want the zeroed kzalloc_obj in conn_create, got %v", res.Sites)
	}
}

// Transforms that run after the sites were found may insert text above
// them (accessors, moved header code): Locate finds a site's statement
// again, at the same place within it, and gives up on a statement that is
// no longer there exactly once.
func TestLocateAfterEdits(t *testing.T) {
	t.Parallel()
	res, _, _ := creation(t, "conn")
	var heap *sites.Site
	for _, st := range res.Sites {
		if st.Kind == sites.Heap {
			heap = st
		}
	}
	if heap == nil {
		t.Fatalf("no heap site in %v", res.Sites)
	}
	src, err := os.ReadFile(filepath.Join(conn, heap.File))
	if err != nil {
		t.Fatal(err)
	}
	if got := sites.Locate(ast.Parse(heap.File, src), heap); got != heap.Off {
		t.Errorf("unchanged text: Locate = %d, want %d", got, heap.Off)
	}
	prefix := "/* accessors a transform added */\nstatic inline int conn_x(void)\n{\n\treturn 0;\n}\n"
	moved := append([]byte(prefix), src...)
	if got := sites.Locate(ast.Parse(heap.File, moved), heap); got != heap.Off+len(prefix) {
		t.Errorf("text moved by %d: Locate = %d, want %d", len(prefix), got, heap.Off+len(prefix))
	}
	stmt := string(src[heap.Off-20 : heap.Off+20])
	gone := []byte(strings.Replace(string(src), "c = kzalloc(sizeof(*c), GFP_KERNEL);", "c = kzalloc(sizeof(*c) + 8, GFP_KERNEL);", 1))
	if got := sites.Locate(ast.Parse(heap.File, gone), heap); got != -1 {
		t.Errorf("statement rewritten (%q): Locate = %d, want -1", stmt, got)
	}
}

// An array outside functions is static storage and starts zeroed; an array
// member of another struct is made with its container (here a kmalloc that
// does not zero it): it is no proof that every object starts zeroed.
func TestAllZeroedArrays(t *testing.T) {
	t.Parallel()
	env := rewritetest.Env(t, conn, conn+"/config")
	s := rewritetest.Load(t, env, rewritetest.ReadPatch(t, conn+"/patches/01-hole-bool.patch"), rewrite.Options{Dialect: "klp"})
	var frag, slot sites.ZeroProof
	probe := &rewrite.Transform{Name: "probe", Requires: []rewrite.Requirement{sites.Creation}, Run: func(p *rewrite.Pass) error {
		frag = sites.AllZeroed(p, "include/linux/conn_frag.h", "frag")
		slot = sites.AllZeroed(p, "include/linux/conn_frag.h", "frag_slot")
		return nil
	}}
	if err := s.Run([]*rewrite.Transform{probe}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(frag.Refusal, "array member of a struct") || !strings.Contains(frag.Refusal, "include/linux/conn_frag.h") {
		t.Errorf("struct frag lives in struct frag_owner's array member: want a refusal naming it, got %+v", frag)
	}
	if slot.Refusal != "" || !strings.Contains(slot.Sites, "net/conn/conn_frag.c") || !strings.Contains(slot.Sites, "static storage") {
		t.Errorf("struct frag_slot lives only in a static array: want it proven zeroed, got %+v", slot)
	}
}
