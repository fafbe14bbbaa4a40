#!/usr/bin/env bash
# Test infrastructure: builds etcd, kube-apiserver, kube-controller-manager and kubectl from the
# pinned Go modules in test/control-plane/tools into a cache folder outside git, and prints
# that folder. Rebuilds only when go.mod/go.sum (the pinned versions) or the Go version change.
#   SPARKGATE_CONTROL_PLANE_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sparkgate/control-plane)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/tools"
command -v go >/dev/null || { echo "control-plane: 'go' is not on PATH (Go >= 1.26 is needed to build the test control plane)" >&2; exit 1; }

k8s_version="$(awk '$1=="k8s.io/kubernetes"{print $2}' "$tools/go.mod")"
etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2}' "$tools/go.mod")"
# The pins, not the comments: go.mod without comment lines, go.sum, and the Go version.
key="$( { grep -v '^[[:space:]]*//' "$tools/go.mod"; cat "$tools/go.sum"; go env GOVERSION; } | sha256sum | cut -c1-16)"
root="${SPARKGATE_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparkgate/control-plane}"
out="$root/kubernetes-$k8s_version-etcd-$etcd_version-$key"

if [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/kube-controller-manager" && -x "$out/bin/etcd" && -x "$out/bin/kubectl" && -f "$out/.complete" ]]; then
  echo "$out/bin"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.build.lock"
flock 9
# Another build may have finished while this one waited for the lock.
if [[ -f "$out/.complete" ]]; then echo "$out/bin"; exit 0; fi

echo "control-plane: building kubernetes $k8s_version and etcd $etcd_version into $out (first run: ~10-20 min on 2 cores)" >&2
start=$(date +%s)
rm -rf "$out.tmp"
mkdir -p "$out.tmp/bin"
major_minor="${k8s_version#v}"
version_pkg="k8s.io/component-base/version"
ldflags="-s -w \
  -X $version_pkg.gitVersion=$k8s_version \
  -X $version_pkg.gitMajor=${major_minor%%.*} \
  -X $version_pkg.gitMinor=$(echo "$major_minor" | cut -d. -f2) \
  -X $version_pkg.gitTreeState=clean \
  -X $version_pkg.buildDate=1970-01-01T00:00:00Z \
  -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
cd "$tools"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
go build -ldflags "$ldflags" -o "$out.tmp/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -ldflags "$ldflags" -o "$out.tmp/bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
go build -ldflags "$ldflags" -o "$out.tmp/bin/kubectl" k8s.io/kubernetes/cmd/kubectl
go build -ldflags "-s -w" -o "$out.tmp/bin/etcd" go.etcd.io/etcd/server/v3
rm -rf "$out"
mv "$out.tmp" "$out"
touch "$out/.complete"
echo "control-plane: built in $(( $(date +%s) - start )) s" >&2
# Older builds of other pins are left for the user to prune; list them.
ls -d "$root"/kubernetes-* 2>/dev/null | grep -v -F "$out" | sed 's/^/control-plane: stale build (safe to delete): /' >&2 || true
echo "$out/bin"
