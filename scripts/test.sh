#!/usr/bin/env bash
# Run every test of kprewrite, the real-kernel ones included. On a fresh
# machine this installs the build dependencies (apt-get, as root), downloads
# Debian's linux-source-6.1 and builds it once with the minimal livepatch
# config; all of that is cached under ~/.cache/kprewrite for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
start=$(date +%s)
# KPREWRITE_KPATCH_E2E=1 adds the kpatch-build proof at the end; the unit
# stage must not see it (its test needs the kpatch kernel's environment).
kpatch_e2e=${KPREWRITE_KPATCH_E2E:-}
unset KPREWRITE_KPATCH_E2E

eval "$(./scripts/prepare-kernel.sh)"
export KPREWRITE_REAL=1

echo "== go vet"
go vet ./...
echo "== go test (unit and real-tree tests)"
go test -count=1 -timeout 60m ./...

if [ "${KPREWRITE_SKIP_E2E:-}" != 1 ]; then
	echo "== end-to-end proof: kprewrite -> klp-build -> livepatch in QEMU"
	eval "$(./scripts/prepare-klp-kernel.sh)"
	KPREWRITE_E2E=1 go test -count=1 -timeout 80m -v -run 'TestBootBase|TestEndToEnd|TestCumulative|TestStaticKeyBuilders' ./e2e
fi

if [ "$kpatch_e2e" = 1 ]; then
	# Not in the default run (CI stays under 75 minutes on a fresh machine):
	# the kpatch-build proof on Debian's 6.1 builds its own two kernels (an
	# hour for the three cases on a loaded 2-core machine, more when cold).
	echo "== end-to-end proof: kprewrite -> kpatch-build -> livepatch in QEMU (Linux 6.1)"
	eval "$(./scripts/prepare-kpatch-kernel.sh)"
	KPREWRITE_KPATCH_E2E=1 go test -count=1 -timeout 150m -v -run 'TestKpatchBootBase|TestKpatchEndToEnd' ./e2e
fi

echo "== all tests passed in $(( $(date +%s) - start ))s"
