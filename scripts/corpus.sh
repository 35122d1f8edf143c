#!/usr/bin/env bash
# Build kprewrite's development corpus: one patch per upstream fix between
# Debian's linux-source-6.1 6.1.170-3 and 6.1.176-1 that changes a struct or
# union in a header, with the other hunks of the same fix, cut from the diff
# of the two trees as testdata/corpus/manifest says. Everything is cached
# under $KPREWRITE_CACHE (default ~/.cache/kprewrite):
#
#   debs/linux-source-6.1_<ver>_all.deb   the two packages (apt-get download)
#   src/linux-6.1.170, src/linux-6.1.176  the unpacked trees (never modified;
#                                         6.1.170 is shared with prepare-kernel.sh)
#   corpus/full.diff                      diff -Nrup of the two trees
#   corpus/changelog.Debian.gz            Debian's changelog of 6.1.176-1
#   corpus/cases/ID.patch, index.tsv      the cases
#
# The manifest is checked on every run: every file and hunk anchor it names
# exists in the diff, no hunk is claimed twice (exit 1 otherwise), and the
# header hunks that change a struct or union but that no fix claims are
# listed. Every case must apply to the 6.1.170 tree.
#
# 6.1.187 and later, and the 6.12 packages, stay out: they are the
# independent evaluation set.
set -euo pipefail

CACHE=${KPREWRITE_CACHE:-$HOME/.cache/kprewrite}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PKG=linux-source-6.1
OLD=6.1.170-3
NEW=6.1.176-1
log() { echo "corpus: $*" >&2; }

mkdir -p "$CACHE/debs" "$CACHE/src" "$CACHE/corpus"

unpack() { # version -> tree path on stdout
	local version=$1 upstream=${1%-*}
	local src=$CACHE/src/linux-$upstream deb=$CACHE/debs/${PKG}_$1_all.deb
	if [ ! -f "$src/.kprewrite-unpacked" ]; then
		if [ ! -f "$deb" ]; then
			log "downloading $PKG $version"
			(cd "$CACHE/debs" && apt-get download "$PKG=$version" >&2 2>/dev/null) ||
				{ apt-get update -q >&2 || true; (cd "$CACHE/debs" && apt-get download "$PKG=$version" >&2); }
		fi
		log "unpacking $PKG $version"
		local tmp
		tmp=$(mktemp -d "$CACHE/src/.unpack.XXXXXX")
		dpkg-deb -x "$deb" "$tmp"
		tar -C "$tmp" -xf "$tmp"/usr/src/linux-source-6.1.tar.xz
		rm -rf "$src"
		mv "$tmp/linux-source-6.1" "$src"
		rm -rf "$tmp"
		touch "$src/.kprewrite-unpacked"
	fi
	echo "$src"
}

old=$(unpack $OLD)
new=$(unpack $NEW)
deb=$CACHE/debs/${PKG}_${NEW}_all.deb
if [ ! -f "$CACHE/corpus/changelog.Debian.gz" ] && [ -f "$deb" ]; then
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/$PKG/changelog.Debian.gz >"$CACHE/corpus/changelog.Debian.gz"
fi

diff=$CACHE/corpus/full.diff
if [ ! -s "$diff" ] || [ "$old/.kprewrite-unpacked" -nt "$diff" ] || [ "$new/.kprewrite-unpacked" -nt "$diff" ]; then
	log "diffing $(basename "$old") and $(basename "$new") (1-2 minutes)"
	(cd "$CACHE/src" && diff -Nrup -x .kprewrite-unpacked "$(basename "$old")" "$(basename "$new")" >"$diff.tmp") || [ $? -eq 1 ]
	mv "$diff.tmp" "$diff"
fi

export PATH=$PATH:/usr/local/go/bin
cases=$CACHE/corpus/cases
(cd "$REPO" && go run ./internal/corpus split -diff "$diff" -old "$old" -new "$new" \
	-manifest "$REPO/testdata/corpus/manifest" -out "$cases")

bad=0
for p in "$cases"/*.patch; do
	if ! out=$(cd "$old" && patch -p1 --dry-run -f -s <"$p" 2>&1) || [ -n "$out" ]; then
		log "$(basename "$p") does not apply cleanly to $(basename "$old"): $(head -n1 <<<"$out")"
		bad=1
	fi
done
[ $bad -eq 0 ] || exit 1
log "$(ls "$cases"/*.patch | wc -l) cases in $cases"
echo "$cases"
