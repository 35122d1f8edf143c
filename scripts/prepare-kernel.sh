#!/usr/bin/env bash
# Prepare a real Debian kernel tree for kprewrite's real-tree tests, cached
# outside the repository so later runs are fast:
#
#   $CACHE/debs/linux-source-6.1_<ver>_all.deb   the downloaded package
#   $CACHE/src/linux-<ver>/                       the pristine source tree (never built in)
#   $CACHE/build/linux-<ver>-min/                 an O= build with testdata/kernel/livepatch-min.config
#
# CACHE is $KPREWRITE_CACHE or ~/.cache/kprewrite. The version is
# $KPREWRITE_LINUX_VERSION if set, else the first of a preferred list that the
# archive still serves, else the newest one it serves.
#
# Prints shell assignments for KPREWRITE_LINUX_TREE and KPREWRITE_LINUX_BUILD
# on standard output (eval them); progress goes to standard error. It also
# installs Debian's kernel configs (linux-config-6.1) and prints
# KPREWRITE_DISTRO_CONFIG, for the test on a tree that is prepared with a
# distribution config but not built (cmd/kprewrite TestPreparedTree).
set -euo pipefail

CACHE=${KPREWRITE_CACHE:-$HOME/.cache/kprewrite}
REPO=$(cd "$(dirname "$0")/.." && pwd)
FRAGMENT=$REPO/testdata/kernel/livepatch-min.config
PKG=linux-source-6.1
PREFERRED="6.1.176-1 6.1.192-2 6.1.192-1 6.1.190-1 6.1.187-1 6.1.170-3"
log() { echo "prepare-kernel: $*" >&2; }

need_pkgs() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]}"
		if [ "$(id -u)" -ne 0 ]; then
			log "not root: install them yourself: apt-get install ${missing[*]}"
			exit 1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
	fi
}

need_pkgs make gcc bc bison flex libelf-dev libssl-dev cpio dwarves xz-utils patch

mkdir -p "$CACHE/debs" "$CACHE/src" "$CACHE/build"

version=${KPREWRITE_LINUX_VERSION:-}
if [ -z "$version" ]; then
	# The first choice already unpacked: no download at all.
	first=${PREFERRED%% *}
	if [ -f "$CACHE/src/linux-${first%-*}/.kprewrite-unpacked" ]; then version=$first; fi
fi
if [ -z "$version" ]; then
	served=$(apt-cache madison $PKG 2>/dev/null | awk '{print $3}')
	if [ -z "$served" ]; then
		apt-get update -q >&2 || true
		served=$(apt-cache madison $PKG 2>/dev/null | awk '{print $3}')
	fi
	for v in $PREFERRED; do
		if grep -qx "$v" <<<"$served"; then version=$v; break; fi
	done
	if [ "$version" != "${PREFERRED%% *}" ]; then
		# lists older than the archive (a fresh machine's image) may lack the
		# first choice, which the real-tree tests are written against
		apt-get update -q >&2 || true
		served=$(apt-cache madison $PKG 2>/dev/null | awk '{print $3}')
		for v in $PREFERRED; do
			if grep -qx "$v" <<<"$served"; then version=$v; break; fi
		done
	fi
	if [ -z "$version" ]; then
		# no preferred version served: one already unpacked, else the newest
		for v in $PREFERRED; do
			if [ -f "$CACHE/src/linux-${v%-*}/.kprewrite-unpacked" ]; then version=$v; break; fi
		done
	fi
	[ -n "$version" ] || version=$(head -n1 <<<"$served")
fi
[ -n "$version" ] || { log "no $PKG version is served by the configured archive"; exit 1; }
upstream=${version%-*}
src=$CACHE/src/linux-$upstream
build=$CACHE/build/linux-$upstream-min

if [ ! -f "$src/.kprewrite-unpacked" ]; then
	deb=$CACHE/debs/${PKG}_${version}_all.deb
	if [ ! -f "$deb" ]; then
		log "downloading $PKG $version"
		(cd "$CACHE/debs" && apt-get download "$PKG=$version" >&2 2>/dev/null) ||
			(cd "$CACHE/debs" && apt-get download "$PKG=$version" >&2)
	fi
	log "unpacking $PKG $version"
	tmp=$(mktemp -d "$CACHE/src/.unpack.XXXXXX")
	dpkg-deb -x "$deb" "$tmp"
	tar -C "$tmp" -xf "$tmp"/usr/src/linux-source-6.1.tar.xz
	rm -rf "$src"
	mv "$tmp/linux-source-6.1" "$src"
	rm -rf "$tmp"
	touch "$src/.kprewrite-unpacked"
fi

fragment_sum=$(sha256sum "$FRAGMENT" | cut -c1-16)
if [ ! -f "$build/.kprewrite-built-$fragment_sum" ]; then
	log "building $src with the minimal livepatch config in $build (4-6 minutes on 2 cores)"
	rm -rf "$build"
	mkdir -p "$build"
	start=$(date +%s)
	make -s -C "$src" O="$build" tinyconfig >&2
	"$src"/scripts/kconfig/merge_config.sh -m -O "$build" "$build/.config" "$FRAGMENT" >/dev/null
	make -s -C "$src" O="$build" olddefconfig >&2
	make -s -C "$src" O="$build" -j"$(nproc)" >&2
	echo "$(( $(date +%s) - start ))" > "$build/.kprewrite-build-seconds"
	touch "$build/.kprewrite-built-$fragment_sum"
fi

distro_config=/usr/src/linux-config-6.1/config.amd64_none_amd64.xz
if [ ! -f "$distro_config" ] && [ "$(uname -m)" = x86_64 ]; then
	(need_pkgs linux-config-6.1) || log "no linux-config-6.1: the prepared-tree test will be skipped"
fi

echo "export KPREWRITE_LINUX_TREE=$src"
echo "export KPREWRITE_LINUX_BUILD=$build"
if [ -f "$distro_config" ]; then
	echo "export KPREWRITE_DISTRO_CONFIG=$distro_config"
fi
