#!/usr/bin/env bash
# The existing e2e suites on the test node (the existing-cluster switch, test/e2e/framework/existing-cluster.ts):
# brings the node up (up.sh), installs the CRD and the chart (the image built from the Dockerfile, one replica),
# runs the suites against the chart's Service address with backends as Pods and the node's own EndpointSlice
# controller, and always tears the node down (down.sh) and checks nothing is left (leftovers.sh). One node per
# machine: the same lock as run.sh. Suites: the arguments, or the ones that make sense on a real node.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
suites=("$@")
if [ ${#suites[@]} = 0 ]; then
  suites=(routing/routing affinity/affinity tls/tls socketio/socketio endpoints/endpoints stickyroute/stickyroute
    invalid/invalid)
  suites=("${suites[@]/#/test/e2e/}")
  suites=("${suites[@]/%/.test.ts}")
fi
node_session
kubeconfig=$(bash "$cluster_here/up.sh" | tail -n 1)
up=$((SECONDS - start))
cd "$repo_root"
kubectl=("$tools_dir/kubectl" --kubeconfig "$kubeconfig")
image=${product_image#docker.io/library/}
# The CRD first, as docs/install.md says (Helm never upgrades crds/). One replica: the suites count round-robin
# turns and expect one snapshot to converge (two replicas behind kube-proxy each keep their own turn); the
# user's-path suite (run.sh) covers two replicas.
"${kubectl[@]}" apply --server-side -f crds/stickyroute.yaml >/dev/null
"$tools_dir/helm" --kubeconfig "$kubeconfig" install sticky-ingress deploy/helm/sticky-ingress \
  --namespace sticky-system --create-namespace --set "image.repository=${image%:*}" --set "image.tag=${image##*:}" \
  --set replicaCount=1 >/dev/null
# Not `helm --wait`: it waits for the LoadBalancer Service to get an address, and no cloud gives one here.
"${kubectl[@]}" -n sticky-system rollout status deployment/sticky-ingress --timeout=300s >/dev/null
address=$("${kubectl[@]}" -n sticky-system get service sticky-ingress -o jsonpath='{.spec.clusterIP}')
log "chart installed at $((SECONDS - start)) s; the ingress' Service at $address:80/443"
export PATH="$repo_root/node_modules/.bin:$PATH" # Node 24 (the repository's), as npm run does
suite_start=$SECONDS
STICKY_E2E_KUBECONFIG=$kubeconfig \
STICKY_E2E_INGRESS_HTTP=http://$address:80 \
STICKY_E2E_INGRESS_HTTPS=https://$address:443 \
STICKY_E2E_BACKEND_IMAGE=${backend_image#docker.io/library/} \
  node --test --test-concurrency=1 --test-timeout=900000 "${suites[@]}"
log "node up in $up s; suites in $((SECONDS - suite_start)) s"
