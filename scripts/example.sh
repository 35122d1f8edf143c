#!/usr/bin/env bash
# The main job on the bundled example: rewrite the seed patch (a bonding fix
# that adds a bitfield to struct slave, a member to a notifier info struct
# and changes header inlines) for the miniature tree in testdata/kernels/seed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
go build -o kprewrite ./cmd/kprewrite
seed=testdata/kernels/seed
echo "== kprewrite analyze"
./kprewrite analyze --tree $seed $seed/patches/seed.patch || true
echo
echo "== kprewrite rewrite (patch on stdout, report on stderr)"
./kprewrite rewrite --tree $seed -o /tmp/seed-livepatch.patch $seed/patches/seed.patch || true
echo
echo "== the rewritten patch: /tmp/seed-livepatch.patch"
cat /tmp/seed-livepatch.patch
