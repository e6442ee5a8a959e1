#!/usr/bin/env bash
# Builds the conformance suite's echo backend from the pinned module's own source
# (sigs.k8s.io/gateway-api/conformance/echo-basic, a `tool` in go.mod) into a scratch image with buildah,
# cached like test/cluster/images.sh's images: ~/.cache/sticky-ingress/images/echo-basic-<hash>.tar, keyed by
# go.mod, go.sum and this script. Prints the archive's path on stdout. The suite's manifests name the image
# registry.k8s.io/gateway-api/echo-basic:<tag>; run.sh tags the imported image with each of those names, so
# containerd (which never pulls on the test node) finds it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cluster/lib.sh"
command -v buildah >/dev/null || { echo "echo-image.sh needs buildah (test/cluster/up.sh installs it)" >&2; exit 2; }
# The same buildah storage and config as images.sh: built images never mix with a user's.
bstore=$cache_root/buildah
mkdir -p "$bstore" "$image_cache"
printf '[network]\nnetwork_config_dir = "%s"\n' "$bstore/cni" >"$bstore/containers.conf"
bah() { CONTAINERS_CONF=$bstore/containers.conf buildah --root "$bstore/root" --runroot "$bstore/runroot" --storage-driver overlay "$@"; }

name=localhost/gateway-api/echo-basic:conformance
hash=$(cat "$here/go.mod" "$here/go.sum" "$0" | sha256sum | cut -c1-16)
out=$image_cache/echo-basic-$hash.tar
if [ ! -s "$out" ]; then
  start=$SECONDS
  tmp=$(mktemp -d "$image_cache/echo.XXXX")
  log "echo-basic: go build from the pinned conformance module"
  # Static: the image is scratch, no libc.
  (cd "$here" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -o "$tmp/echo-basic" sigs.k8s.io/gateway-api/conformance/echo-basic)
  ctr=$(bah from scratch)
  bah copy "$ctr" "$tmp/echo-basic" /echo-basic >/dev/null
  bah config --entrypoint '["/echo-basic"]' --os linux --arch amd64 "$ctr"
  bah commit -q --rm "$ctr" "$name" >/dev/null
  bah push -q "$name" "docker-archive:$out.tmp:$name"
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
  log "echo-basic image built in $((SECONDS - start)) s"
fi
echo "$out"
