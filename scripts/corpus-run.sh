#!/usr/bin/env bash
# Run kprewrite on every case of the development corpus (scripts/corpus.sh)
# against Debian's amd64 config on a prepared, not built, 6.1.170 tree, and
# print the table by kind of change. Each case is classified:
#
#   proven     rewrite exits 0 and verify --original passes
#   refused    rewrite exits 1; the first finding that needs an engineer is shown
#   unproven   rewrite exits 0 but verify fails a check other than apply,
#              compile and layout (functions, ftrace, statics, headers, style)
#   unsafe     rewrite exits 0 but verify's layout check fails
#   broken     kprewrite crashed, exited 2 on the (applying) patch, or the
#              rewritten patch does not apply or compile
#   not-built  the config builds none of the files the rewritten patch changes
#   timeout    rewrite or verify ran past KPREWRITE_CORPUS_TIMEOUT (15m)
#
# Results are cached per case under $CACHE/corpus/results, keyed by the
# kprewrite binary, the config and the case, so reruns are cheap. Arguments
# are passed to "corpus run": -only ID,ID runs some cases, -cached runs
# nothing and tabulates what is cached, -o docs/corpus.md writes the table
# between that file's marker lines. The full run takes hours: it is not part
# of CI.
#
# --reversed (first argument) runs the corpus undone instead: every case
# reversed ("corpus reverse") against Debian's amd64 config on a prepared
# 6.1.176 tree, results under $CACHE/corpus/results-reversed. A fix undone
# is another real change of the same shapes the other way round (a member
# removed where the fix adds it): a check of kprewrite on input it was not
# tuned on. A reversed fix that leans on later fixes of the range does not
# compile on its own: verify says "the upstream patch does not compile".
set -euo pipefail

CACHE=${KPREWRITE_CACHE:-$HOME/.cache/kprewrite}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$PATH:/usr/local/go/bin
log() { echo "corpus-run: $*" >&2; }

cases=$("$REPO/scripts/corpus.sh")
src=$CACHE/src/linux-6.1.170
build=$CACHE/build/linux-6.1.170-debian-amd64
results=$CACHE/corpus/results
if [ "${1:-}" = --reversed ]; then
	shift
	src=$CACHE/src/linux-6.1.176
	build=$CACHE/build/linux-6.1.176-debian-amd64
	results=$CACHE/corpus/results-reversed
	(cd "$REPO" && go run ./internal/corpus reverse -cases "$cases" -out "$CACHE/corpus/reversed")
	cases=$CACHE/corpus/reversed
fi

if [ ! -f "$build/.kprewrite-prepared" ]; then
	cfg=/usr/src/linux-config-6.1/config.amd64_none_amd64.xz
	if [ ! -f "$cfg" ]; then
		log "installing linux-config-6.1 (Debian's kernel configs)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-config-6.1 >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-config-6.1 >&2; }
	fi
	log "preparing $build with Debian's amd64 config (make olddefconfig prepare modules_prepare, 1-2 minutes)"
	rm -rf "$build"
	mkdir -p "$build"
	xz -dc "$cfg" >"$build/.config"
	start=$(date +%s)
	make -s -C "$src" O="$build" olddefconfig >&2
	make -s -C "$src" O="$build" -j"$(nproc)" prepare modules_prepare >&2
	echo "$(($(date +%s) - start))" >"$build/.kprewrite-prepared"
fi

bin=$CACHE/corpus/kprewrite
(cd "$REPO" && go build -o "$bin.tmp" ./cmd/kprewrite && mv "$bin.tmp" "$bin")
cd "$REPO"
exec go run ./internal/corpus run -cases "$cases" -kprewrite "$bin" -tree "$src" -config "$build/.config" \
	-results "$results" -timeout "${KPREWRITE_CORPUS_TIMEOUT:-15m}" "$@"
