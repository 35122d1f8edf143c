// Package keepheader is the transform for a header the upstream change
// deletes: the header stays in the tree, whole.
//
// Before (upstream):	--- a/drivers/gpu/drm/i915/display/intel_dpcd.h
//
//	+++ /dev/null
//
// After (rewritten):	the deletion is gone; the header stays as it was.
//
// No file that compiles upstream can include a header upstream deletes, so
// keeping it changes no unit the config builds: the patched files compile
// as upstream's, the others as the running kernel's. Every finding about
// what the header defined (its macros, structs, inlines) is settled with
// it, before other transforms would move or keep its pieces one by one.
package keepheader

import (
	"maps"
	"slices"

	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Transform is the keepheader transform.
var Transform = &rewrite.Transform{
	Name: "keepheader",
	Doc:  "a header the upstream change deletes stays in the tree whole: no file that compiles upstream includes it, so keeping it changes no unit",
	Kinds: []hazard.Kind{hazard.StructLayout, hazard.HeaderInline, hazard.HeaderMacro, hazard.HeaderDecl, hazard.HeaderOther, hazard.HeaderEnum,
		hazard.Prototype, hazard.PrintOnce, hazard.StaticKey, hazard.DataInit, hazard.NewData, hazard.Unclassified},
	// it takes only a shape of the patch (a deleted header): every other
	// header hazard is predicted for the transforms after it
	Opportunistic: true,
	Run:           run,
}

func run(p *rewrite.Pass) error {
	byHeader := map[string][]*rewrite.Entry{}
	for _, e := range p.Entries {
		if e.ResolvedBy == "" && change.IsHeader(e.File) && deleted(p, e.File) {
			byHeader[e.File] = append(byHeader[e.File], e)
		}
	}
	for _, h := range slices.Sorted(maps.Keys(byHeader)) {
		es := byHeader[h]
		p.Edit(edit.Edit{File: h, Off: 0, End: 0, Text: string(p.Original(h)), Why: "deleted header kept", Hazard: es[0].Hazard})
		for _, e := range es {
			p.Resolve(e, h+" stays in the tree whole: the upstream change deletes it, so no file that compiles upstream includes it, and keeping it changes no unit")
		}
	}
	return nil
}

// deleted reports whether the patch deletes a file of the tree (its
// post-image is no file at all).
func deleted(p *rewrite.Pass, f string) bool {
	cur, ok := p.Current[f]
	return ok && cur == nil && p.Base.Exists(f)
}
