#!/usr/bin/env bash
# Test infrastructure: build (or reuse) the control-plane binaries, start etcd, kube-apiserver and
# kube-controller-manager on loopback, wait for /readyz, write an admin kubeconfig, then
#   - with a command after `--`: run it with KUBECONFIG set, stop everything, exit with its status;
#   - without: print KUBECONFIG=... and stay up until Ctrl-C, then stop everything.
#   bash test/control-plane/start.sh [--dir DIR] [-- command args...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash test/control-plane/build.sh >/dev/null
exec node --import tsx test/control-plane/main.ts "$@"
