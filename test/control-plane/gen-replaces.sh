#!/usr/bin/env bash
# Test infrastructure: print the `replace` block of test/control-plane/tools/go.mod for a
# Kubernetes release: every staging module that k8s.io/kubernetes@<version> replaces with a local
# path, pointed at its published v0.<minor>.<patch> instead. To bump the control plane:
#   bash test/control-plane/gen-replaces.sh v1.36.3   # paste over the replace block
#   (cd test/control-plane/tools && go get k8s.io/kubernetes@v1.36.3 && go mod tidy)
set -euo pipefail
version="${1:?usage: gen-replaces.sh v1.MINOR.PATCH}"
gomod="$(cd "${TMPDIR:-/tmp}" && go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || { echo "gen-replaces: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
staging="v0.${version#v1.}"
echo "replace ("
grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v s="$staging" '{ print "\t" $1 " => " $1 " " s }'
echo ")"
