#!/usr/bin/env bash
# CI entry point for the user's path: brings the test node up (up.sh), runs
# test/e2e/user-path/user-path.test.ts against it, and always tears it down (down.sh) and checks that
# nothing of the node is left (leftovers.sh). Fails when the node
# cannot start. One node per machine: a lock serialises runs. Prints how long each part took.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
exec 9>/tmp/sticky-cluster.lock
flock 9
if [ -e "$run_dir" ]; then echo "$run_dir exists: a node is up; run test/cluster/down.sh first" >&2; exit 2; fi
start=$SECONDS
state_before=$(mktemp /tmp/sticky-cluster-state.XXXX)
bash "$cluster_here/leftovers.sh" --state >"$state_before"
# Always torn down, and proven clean: leftovers.sh fails the run if down.sh left anything of the node behind.
finish() {
  local status=$?
  bash "$cluster_here/down.sh"
  if ! bash "$cluster_here/leftovers.sh" "$state_before"; then
    log "down.sh left the above behind"
    status=1
  fi
  rm -f "$state_before"
  log "total $((SECONDS - start)) s"
  exit "$status"
}
trap finish EXIT
kubeconfig=$(bash "$cluster_here/up.sh" | tail -n 1)
up=$((SECONDS - start))
cd "$repo_root"
export PATH="$repo_root/node_modules/.bin:$PATH" # Node 24 (the repository's), as npm run does
suite_start=$SECONDS
STICKY_CLUSTER_KUBECONFIG=$kubeconfig \
STICKY_CLUSTER_TOOLS=$tools_dir \
STICKY_CLUSTER_NODE_IP=$node_ip \
STICKY_CLUSTER_LB_ADDRESS=${lb_cidr%.*}.10 \
STICKY_CLUSTER_IMAGE=${product_image#docker.io/library/} \
STICKY_CLUSTER_BACKEND_IMAGE=${backend_image#docker.io/library/} \
  node --test --test-concurrency=1 --test-timeout=900000 test/e2e/user-path/user-path.test.ts
log "node up in $up s (binaries, images, processes); user's-path suite in $((SECONDS - suite_start)) s"
