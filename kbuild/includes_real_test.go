package kbuild

import (
	"context"
	"slices"
	"testing"

	"github.com/kprewrite/kprewrite/internal/realkernel"
)

// TestIncludeGraphRealMinusI: on the real tree, headers that only a
// Makefile's -I makes visible have their includers: nouveau's
// <subdev/mmu.h> (-I$(src)/include/nvkm), em28xx's "m88ds3103.h" (-I
// drivers/media/dvb-frontends) and fs/xfs/scrub's "xfs_trans.h" (-I
// $(srctree)/fs/xfs, from a directory too shallow for a subsystem).
func TestIncludeGraphRealMinusI(t *testing.T) {
	src, _ := realkernel.Tree(t)
	g, err := BuildIncludeGraph(context.Background(), src, "x86")
	if err != nil {
		t.Fatal(err)
	}
	for header, user := range map[string]string{
		"drivers/gpu/drm/nouveau/include/nvkm/subdev/mmu.h": "drivers/gpu/drm/nouveau/nvkm/subdev/fb/ram.c",
		"drivers/media/dvb-frontends/m88ds3103.h":           "drivers/media/usb/em28xx/em28xx-dvb.c",
		"fs/xfs/xfs_trans.h":                                "fs/xfs/scrub/bmap.c",
	} {
		if got := g.Includers(header); !slices.Contains(got, user) {
			t.Errorf("includers of %s: %d files, not %s", header, len(got), user)
		}
	}
}
