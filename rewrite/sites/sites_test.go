package sites_test

import (
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/rewritetest"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

const conn = "../../testdata/kernels/conn"

// creation runs a transform that reads the creation sites and the frees of
// a struct of the conn tree, with a patch of that tree loaded.
func creation(t *testing.T, tag string) (*sites.Result, []*sites.Free, int) {
	t.Helper()
	env := rewritetest.Env(t, conn, conn+"/config")
	s := rewritetest.Load(t, env, rewritetest.ReadPatch(t, conn+"/patches/01-hole-bool.patch"), rewrite.Options{Dialect: "klp"})
	var res *sites.Result
	var frees []*sites.Free
	calls := 0
	probe := &rewrite.Transform{Name: "probe", Requires: []rewrite.Requirement{sites.Creation, sites.FreeSites}, Run: func(p *rewrite.Pass) error {
		for range 2 { // the second answer comes from the session's facts
			r, err := sites.Find(p, "include/linux/conn.h", tag)
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
		frees, _, err = sites.Frees(p, "include/linux/conn.h", tag)
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
