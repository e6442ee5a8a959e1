#!/usr/bin/env bash
# CI entry point for the user's path: brings the test node up (up.sh), runs
# test/e2e/user-path/user-path.test.ts against it, and always tears it down (down.sh) and checks that
# nothing of the node is left (leftovers.sh). Fails when the node
# cannot start. One node per machine: a lock serialises runs. Prints how long each part took.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
node_session
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
