#!/usr/bin/env bash
# Benchmark: kprewrite analyze, rewrite and rewrite --verify (cold, then
# again on the cache the first run left) next to the syntax-only and full
# compile time of exactly the files each patch reaches, on the seed example
# and the real-tree cases, with a complete build and with a build only
# prepared (made once under the cache). Extra arguments go to the bench,
# e.g. scripts/bench.sh -cases seed,hole -jobs 2.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
go build -o kprewrite ./cmd/kprewrite
eval "$(./scripts/prepare-kernel.sh)"
: "${KPREWRITE_BENCH_PREPARED:=${KPREWRITE_CACHE:-$HOME/.cache/kprewrite}/bench-prepared}"
export KPREWRITE_BENCH_PREPARED
go run ./internal/bench -kprewrite ./kprewrite "$@"
