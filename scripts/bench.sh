#!/usr/bin/env bash
# Benchmark: times "kprewrite rewrite --verify" on the seed example and on
# the real-tree cases, next to the full kernel build time of the same config.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
go build -o kprewrite ./cmd/kprewrite
eval "$(./scripts/prepare-kernel.sh)"
go run ./internal/bench -kprewrite ./kprewrite
