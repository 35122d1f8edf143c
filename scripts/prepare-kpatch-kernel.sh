#!/usr/bin/env bash
# Prepare Debian's linux-source-6.1 and kpatch-build (dynup/kpatch, from the
# vendored tarball) for the kpatch end-to-end proof (e2e/, KPREWRITE_KPATCH_E2E=1),
# cached under $CACHE/kpatch:
#
#   $CACHE/kpatch/tool-<commit>/      kpatch's source, built (kpatch-build/kpatch-build runs from here)
#   $CACHE/kpatch/linux-<ver>/        a private copy of the pristine source ($CACHE/src/linux-<ver>,
#                                     never modified), configured and built in place: kpatch-build
#                                     builds in the tree it is given (-s)
#   $CACHE/kpatch/boot-linux-<ver>/   a second private copy, built in place the ordinary way
#                                     (plain gcc): the kernel that boots, and the tree the
#                                     upstream-built kernels are made in
#   $CACHE/kpatch/boot-<ver>/         the base kernel: bzImage, vmlinux, modules, config
#   $CACHE/kpatch/ccache              ccache for every build of both trees
#
# kpatch-build's tree is built exactly as kpatch-build builds its "original"
# kernel (CC="kpatch-cc gcc", KCFLAGS with kpatch's headers and
# -ffunction-sections -fdata-sections), so kpatch-build's first run finds it up
# to date instead of rebuilding it all. That build does not boot: 6.1's linker
# script has no rule for the .bss.* and .data.* sections -fdata-sections makes,
# so they land outside __bss_start..__bss_stop (kpatch-build never boots it
# either: a distribution boots its ordinary build and hands its vmlinux to
# kpatch-build with -v). The kernel that boots is therefore the same source
# and config built the ordinary way, in its own copy. The config is tinyconfig
# + testdata/kernel/livepatch-min.config + testdata/kernel/kpatch.config. Each
# build is a full minimal-config kernel build; a second run of this script only
# checks the stamps.
#
# Prints KPREWRITE_KPATCH_BUILD (the kpatch-build script), KPREWRITE_KPATCH_SRC,
# KPREWRITE_KPATCH_TREE and KPREWRITE_KPATCH_BOOT assignments (plus those of
# scripts/prepare-kernel.sh); progress goes to standard error.
set -euo pipefail

CACHE=${KPREWRITE_CACHE:-$HOME/.cache/kprewrite}
REPO=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "prepare-kpatch-kernel: $*" >&2; }

need=()
for p in make gcc bc bison flex libelf-dev libssl-dev cpio dwarves patchutils gawk \
	qemu-system-x86 busybox-static xz-utils ccache; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		log "not root: install them yourself: apt-get install ${need[*]}"
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2; }
fi

# The pristine 6.1 source (downloaded and unpacked by prepare-kernel.sh).
prep=$("$REPO/scripts/prepare-kernel.sh")
eval "$prep"
src=$KPREWRITE_LINUX_TREE
version=$(basename "$src" | sed 's/^linux-//')

# kpatch: the vendored tarball (or $KPREWRITE_KPATCH_TARBALL).
tarball=${KPREWRITE_KPATCH_TARBALL:-}
if [ -z "$tarball" ]; then
	for d in "$REPO/.." "$REPO/../.." "$REPO/../../.."; do
		t=$(ls "$d"/shared/vendor/kpatch-*.tar.gz 2>/dev/null | head -n1 || true)
		if [ -n "$t" ]; then tarball=$t; break; fi
	done
fi
[ -n "$tarball" ] && [ -f "$tarball" ] ||
	{ log "no kpatch tarball: set KPREWRITE_KPATCH_TARBALL to a dynup/kpatch source tarball"; exit 1; }
commit=$(basename "$tarball" .tar.gz | sed 's/^kpatch-//')
tool=$CACHE/kpatch/tool-$commit
if [ ! -f "$tool/.kprewrite-built" ]; then
	log "building kpatch-build from $tarball"
	rm -rf "$tool"
	mkdir -p "$tool"
	tar -C "$tool" --strip-components=1 -xzf "$tarball"
	make -s -C "$tool/kpatch-build" -j"$(nproc)" >&2
	make -s -C "$tool/kmod" >&2
	touch "$tool/.kprewrite-built"
fi

tree=$CACHE/kpatch/linux-$version
boot=$CACHE/kpatch/boot-$version
boottree=$CACHE/kpatch/boot-linux-$version
frag_sum=$(cat "$REPO/testdata/kernel/livepatch-min.config" "$REPO/testdata/kernel/kpatch.config" | sha256sum | cut -c1-16)

export CCACHE_DIR=$CACHE/kpatch/ccache
export PATH=/usr/lib/ccache:$PATH
# kpatch-build's own make variables for its original build (see "Building
# original source" in kpatch-build): the same command lines, so its first run
# rebuilds nothing.
kflags="-I$tool/kmod/patch -ffunction-sections -fdata-sections"
if echo 'int x;' | gcc -x c -c -gz=none -o /dev/null - 2>/dev/null; then kflags="$kflags -gz=none"; fi
MAKEVARS=("CC=$tool/kpatch-build/kpatch-cc gcc" "LD=$tool/kpatch-build/kpatch-cc ld" "KCFLAGS=$kflags")

# The stamp names the layout: boot kernels built the ordinary way in their own tree.
stamp=.kprewrite-ordinary-$frag_sum
if [ ! -f "$boot/$stamp" ]; then
	start=$(date +%s)
	# A tree copied and configured by an interrupted run is built on
	# (make resumes where it stopped); anything else is copied afresh.
	if [ ! -f "$tree/.kprewrite-configured-$frag_sum" ]; then
		log "copying $src to $tree"
		rm -rf "$tree" "$boot" "$boottree"
		mkdir -p "$CACHE/kpatch"
		cp -a "$src" "$tree"
		rm -f "$tree/.kprewrite-unpacked"
		(cd "$tree" &&
			make -s tinyconfig >&2 &&
			scripts/kconfig/merge_config.sh -m .config "$REPO/testdata/kernel/livepatch-min.config" "$REPO/testdata/kernel/kpatch.config" >/dev/null &&
			make -s olddefconfig >&2)
		for opt in CONFIG_LIVEPATCH=y CONFIG_BUG=y CONFIG_DEBUG_INFO=y CONFIG_SLUB_DEBUG=y; do
			grep -qx "$opt" "$tree/.config" || { log "$tree/.config lacks $opt after olddefconfig"; exit 1; }
		done
		touch "$tree/.kprewrite-configured-$frag_sum"
	fi
	log "building $tree as kpatch-build does (a full kernel build, through ccache)"
	(cd "$tree" && make -s -j"$(nproc)" "${MAKEVARS[@]}" vmlinux modules >&2)
	if [ ! -f "$boottree/.kprewrite-configured-$frag_sum" ]; then
		log "copying $src to $boottree"
		rm -rf "$boottree"
		cp -a "$src" "$boottree"
		rm -f "$boottree/.kprewrite-unpacked"
		cp "$tree/.config" "$boottree/.config"
		(cd "$boottree" && make -s olddefconfig >&2)
		touch "$boottree/.kprewrite-configured-$frag_sum"
	fi
	log "building the kernel that boots in $boottree (ordinary flags, through ccache)"
	(cd "$boottree" && make -s -j"$(nproc)" bzImage modules >&2)
	rm -rf "$boot"
	mkdir -p "$boot"
	cp "$boottree/arch/x86/boot/bzImage" "$boottree/vmlinux" "$boottree/Module.symvers" "$boot/"
	(cd "$boottree" && find . -name '*.ko' -exec cp {} "$boot/" \;)
	cp "$boottree/.config" "$boot/config"
	echo "$(( $(date +%s) - start ))" > "$boot/build-seconds"
	touch "$boot/$stamp"
fi

echo "$prep"
echo "export KPREWRITE_KPATCH_BUILD=$tool/kpatch-build/kpatch-build"
echo "export KPREWRITE_KPATCH_SRC=$tool"
echo "export KPREWRITE_KPATCH_TREE=$tree"
echo "export KPREWRITE_KPATCH_BOOT=$boot"
echo "export KPREWRITE_KPATCH_BOOT_TREE=$boottree"
