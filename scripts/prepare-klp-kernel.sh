#!/usr/bin/env bash
# Prepare a kernel with the kernel's own livepatch builder (klp-build, Linux
# 6.19+) for the end-to-end proof, cached under $CACHE/e2e:
#
#   $CACHE/src/linux-<ver>/           pristine source of Debian's linux-source-7.x (from unstable)
#   $CACHE/e2e/klp-<ver>/             a private copy, configured and built in place (klp-build
#                                     builds in the tree it runs from)
#   $CACHE/e2e/boot-<ver>/            the base kernel's bzImage and modules, saved before
#                                     klp-build rebuilds the tree with its own flags
#
# Every build goes through ccache ($CACHE/e2e/ccache): klp-build and the
# upstream-built kernels rebuild whatever includes a header a patch touched,
# twice (patched, then back), and ccache turns the way back into cache hits.
#
# The config is tinyconfig + testdata/kernel/livepatch-min.config + testdata/kernel/e2e.config.
# Prints KPREWRITE_KLP_SRC, KPREWRITE_KLP_TREE and KPREWRITE_KLP_BOOT assignments.
set -euo pipefail

CACHE=${KPREWRITE_CACHE:-$HOME/.cache/kprewrite}
REPO=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "prepare-klp-kernel: $*" >&2; }

need=()
for p in make gcc bc bison flex libelf-dev libssl-dev cpio dwarves patchutils gawk libxxhash-dev \
	qemu-system-x86 busybox-static xz-utils ccache; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2; }
fi

# Find linux-source-7.x in Debian unstable without touching the system's sources.
SID=$CACHE/sid
version=${KPREWRITE_KLP_VERSION:-}
pkg=""
for v in $(ls -d "$CACHE"/src/linux-7.* 2>/dev/null | sed 's|.*/linux-||' | sort -V -r); do
	if [ -f "$CACHE/src/linux-$v/.kprewrite-unpacked" ] && [ -z "$version" ]; then version=$v; fi
done
if [ -z "$version" ]; then
	mkdir -p "$SID/lists/partial" "$SID/sources" "$SID/archives/partial"
	cat > "$SID/sources/sid.sources" <<EOS
Types: deb
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	O=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$SID/sources" -o Dir::State::Lists="$SID/lists" -o Dir::Cache::archives="$SID/archives")
	log "reading the package lists of Debian unstable"
	apt-get "${O[@]}" update -q >&2
	for p in linux-source-7.3 linux-source-7.2; do
		if apt-cache "${O[@]}" madison "$p" 2>/dev/null | grep -q "$p"; then pkg=$p; break; fi
	done
	[ -n "$pkg" ] || { log "Debian unstable serves no linux-source-7.2 or 7.3"; exit 1; }
	full=$(apt-cache "${O[@]}" madison "$pkg" | awk 'NR==1{print $3}')
	version=${full%-*}
	mkdir -p "$CACHE/debs"
	deb=$CACHE/debs/${pkg}_${full}_all.deb
	if [ ! -f "$deb" ]; then
		log "downloading $pkg $full"
		(cd "$CACHE/debs" && apt-get "${O[@]}" download "$pkg=$full" >&2)
	fi
	log "unpacking $pkg $full"
	tmp=$(mktemp -d "$CACHE/src/.unpack.XXXXXX")
	dpkg-deb -x "$deb" "$tmp"
	tar -C "$tmp" -xf "$tmp"/usr/src/"$pkg".tar.xz
	rm -rf "$CACHE/src/linux-$version"
	mv "$tmp/$pkg" "$CACHE/src/linux-$version"
	rm -rf "$tmp"
	touch "$CACHE/src/linux-$version/.kprewrite-unpacked"
fi
src=$CACHE/src/linux-$version
klp=$CACHE/e2e/klp-$version
boot=$CACHE/e2e/boot-$version
frag_sum=$(cat "$REPO/testdata/kernel/livepatch-min.config" "$REPO/testdata/kernel/e2e.config" | sha256sum | cut -c1-16)

export CCACHE_DIR=$CACHE/e2e/ccache
export PATH=/usr/lib/ccache:$PATH

# klp-build's own flags: the boot kernel, the upstream-built kernels and
# klp-build's original build are all made with them, from the same objects.
KLPFLAGS=(KBUILD_MODPOST_WARN=1 KLP_SYMIDS=1 "KCFLAGS=-ffunction-sections -fdata-sections")

if [ ! -f "$boot/.kprewrite-$frag_sum" ]; then
	log "configuring $klp and running klp-build's original build (a full kernel build, 7-9 minutes on 2 cores)"
	mkdir -p "$CACHE/e2e"
	rm -rf "$klp" "$boot"
	cp -a "$src" "$klp"
	start=$(date +%s)
	(cd "$klp" &&
		make -s tinyconfig >&2 &&
		scripts/kconfig/merge_config.sh -m .config "$REPO/testdata/kernel/livepatch-min.config" "$REPO/testdata/kernel/e2e.config" >/dev/null &&
		make -s olddefconfig >&2)
	# Every option the fragments set must survive olddefconfig (an unmet
	# dependency drops it silently: the leak checks need DEBUG_FS and
	# DEBUG_KMEMLEAK).
	missing=$(grep -h '^CONFIG_.*=y$' "$REPO/testdata/kernel/livepatch-min.config" "$REPO/testdata/kernel/e2e.config" |
		while read -r opt; do grep -qx "$opt" "$klp/.config" || echo "$opt"; done | tr '\n' ' ')
	[ -z "$missing" ] || { log "the configured kernel lacks $missing: add what they depend on to testdata/kernel/e2e.config"; exit 1; }
	# A comment-only patch: klp-build builds the original kernel (kept with
	# -T for later runs with -S 2), then stops with "no changes detected".
	warm=$CACHE/e2e/warm-up.patch
	# A comment appended at the end of init/version.c: klp-build builds the
	# original kernel, then stops with "no changes detected".
	n=$(wc -l < "$klp/init/version.c")
	printf -- '--- a/init/version.c\n+++ b/init/version.c\n@@ -%d +%d,2 @@\n %s\n+/* kprewrite: klp-build warm-up */\n' "$n" "$n" "$(tail -n1 "$klp/init/version.c")" > "$warm"
	(cd "$klp" && ./scripts/livepatch/klp-build -T -j"$(nproc)" -o "$CACHE/e2e/warm-up.ko" "$warm" >&2) || true
	[ -f "$klp/klp-tmp/1-orig/.complete" ] || { log "klp-build did not complete its original build"; exit 1; }
	(cd "$klp" && make -s -j"$(nproc)" "${KLPFLAGS[@]}" bzImage modules >&2)
	mkdir -p "$boot"
	cp "$klp/arch/x86/boot/bzImage" "$boot/"
	(cd "$klp" && find . -name '*.ko' -not -path './klp-tmp/*' -exec cp {} "$boot/" \;)
	cp "$klp/.config" "$boot/config"
	echo "$(( $(date +%s) - start ))" > "$boot/build-seconds"
	touch "$boot/.kprewrite-$frag_sum"
fi

echo "export KPREWRITE_KLP_SRC=$src"
echo "export KPREWRITE_KLP_TREE=$klp"
echo "export KPREWRITE_KLP_BOOT=$boot"
