#!/usr/bin/env bash
# Builds the real control-plane binaries the e2e suites run against (kube-apiserver, etcd)
# and Helm, from their published Go modules with the machine's Go toolchain. Each binary is
# cached by version under $STICKY_TOOLS_DIR, so only a fresh machine pays the build.
# Prints the directory that holds the binaries on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${STICKY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sticky-ingress/tools}
mkdir -p "$out"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

kube_version=$(awk '/k8s.io\/kubernetes v/ {print $NF; exit}' "$here/kube/go.mod")
etcd_version=$(awk '/go.etcd.io\/etcd\/server\/v3 v/ {print $NF; exit}' "$here/etcd/go.mod")
helm_version=v3.22.0

build() { # name version dir package [ldflags]
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=${5:-}
  local bin="$out/$name-$version"
  if [ ! -x "$bin" ]; then
    echo "building $name $version (first run on this machine; cached afterwards)" >&2
    local start=$SECONDS
    (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin.tmp" "$pkg")
    mv "$bin.tmp" "$bin"
    echo "built $name $version in $((SECONDS - start)) s" >&2
  fi
  ln -sf "$bin" "$out/$name"
}

# A non-semver gitVersion makes kube-apiserver panic at start, so stamp the tag.
build kube-apiserver "$kube_version" "$here/kube" k8s.io/kubernetes/cmd/kube-apiserver \
  "-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$kube_version" | cut -d. -f2)"
build etcd "$etcd_version" "$here/etcd" go.etcd.io/etcd/server/v3
if [ ! -x "$out/helm-$helm_version" ]; then
  echo "building helm $helm_version" >&2
  GOBIN="$out/helm-build" go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" "helm.sh/helm/v3/cmd/helm@$helm_version"
  mv "$out/helm-build/helm" "$out/helm-$helm_version"
  rmdir "$out/helm-build" 2>/dev/null || true
fi
ln -sf "$out/helm-$helm_version" "$out/helm"
echo "$out"
