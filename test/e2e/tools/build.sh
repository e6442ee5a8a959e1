#!/usr/bin/env bash
# Builds the real control-plane binaries the e2e suites run against (kube-apiserver, etcd)
# and Helm, from their published Go modules with the machine's Go toolchain. Each binary is
# cached by version under $STICKY_TOOLS_DIR, so only a fresh machine pays the build.
# Prints the directory that holds the binaries on its last line.
# --node also builds what a whole node needs (test/cluster/up.sh): kubelet, kube-proxy,
# kube-controller-manager, kube-scheduler and kubectl, from the same k8s.io/kubernetes version.
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
    # A per-process temp name: two engineers' runs may build the same binary at once.
    (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin.tmp.$$" "$pkg")
    mv "$bin.tmp.$$" "$bin"
    echo "built $name $version in $((SECONDS - start)) s" >&2
  fi
  ln -sf "$bin" "$out/$name"
}

# A non-semver gitVersion makes kube-apiserver panic at start, so stamp the tag.
kube_stamp="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$kube_version" | cut -d. -f2)"
build kube-apiserver "$kube_version" "$here/kube" k8s.io/kubernetes/cmd/kube-apiserver "$kube_stamp"
if [ "${1:-}" = --node ]; then
  # One `go build` for all of them: they share most packages, which then compile once.
  missing=()
  for cmd in kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$out/$cmd-$kube_version" ] || missing+=("$cmd")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "building ${missing[*]} $kube_version (first run on this machine; cached afterwards)" >&2
    start=$SECONDS
    tmp=$(mktemp -d "$out/node-build.XXXX")
    (cd "$here/kube" && go build -trimpath -ldflags "-s -w $kube_stamp" -o "$tmp/" "${missing[@]/#/k8s.io/kubernetes/cmd/}")
    for cmd in "${missing[@]}"; do mv "$tmp/$cmd" "$out/$cmd-$kube_version"; done
    rmdir "$tmp"
    echo "built ${missing[*]} in $((SECONDS - start)) s" >&2
  fi
  for cmd in kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    ln -sf "$out/$cmd-$kube_version" "$out/$cmd"
  done
fi
build etcd "$etcd_version" "$here/etcd" go.etcd.io/etcd/server/v3
if [ ! -x "$out/helm-$helm_version" ]; then
  echo "building helm $helm_version" >&2
  gobin=$(mktemp -d "$out/helm-build.XXXX")
  GOBIN="$gobin" go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" "helm.sh/helm/v3/cmd/helm@$helm_version"
  mv "$gobin/helm" "$out/helm-$helm_version"
  rmdir "$gobin"
fi
ln -sf "$out/helm-$helm_version" "$out/helm"
echo "$out"
