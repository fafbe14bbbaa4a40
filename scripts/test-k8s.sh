#!/usr/bin/env bash
# The Kubernetes tier (also run by `npm test`; alone: `npm run test:k8s`):
#  1. the control-plane binaries (etcd, kube-apiserver, kube-controller-manager, kubectl) built
#     from the pinned Go modules in test/control-plane/tools into a cache (first run ~8-20 min);
#  2. the Kubernetes tests of test/integration/k8s, which run against FakeKube in the main tier,
#     here against a real API server (KUBECONFIG set by test/control-plane/start.sh);
#  3. test/integration/control-plane: the gateway in Kubernetes mode as ServiceAccount sparkgate,
#     real Spark creating executor pods that the test node agent runs, every GC path.
# Needs Go >= 1.21 (its toolchain directive fetches Go 1.26 from the Go module proxy if older).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SPARKGATE_DEPS_READY:-}" = 1 ] || bash scripts/ensure-deps.sh test
mkdir -p test-artifacts

echo "== control plane: binaries from Go modules" >&2
start=$(date +%s)
bin=$(bash test/control-plane/build.sh)
echo "control-plane binaries: $bin ($(( $(date +%s) - start )) s)" >&2

status=0
echo "== Kubernetes tests against a real API server" >&2
bash test/control-plane/start.sh -- npx --no-install vitest run test/integration/k8s \
  --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest-k8s-real.json || status=$?

echo "== client mode on the real control plane (one file at a time: each runs its own cluster and JVMs)" >&2
npx --no-install vitest run test/integration/control-plane --maxWorkers=1 \
  --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest-control-plane.json || status=$?
exit $status
