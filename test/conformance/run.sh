#!/usr/bin/env bash
# Gateway API conformance (GATEWAY-HTTP profile, the features docs/gateway-api.md claims) on the real test
# node: up.sh, the pinned release's standard-channel CRDs, the echo backend image built from the pinned
# module's source, the chart (the repository's image) with a GatewayClass `sticky`, then the suite with
# `go test` against the node's kubeconfig. The report is written to $REPORT (default
# test/conformance/report.yaml); the node is always torn down and proven clean (leftovers.sh), as in
# test/cluster/run.sh. Needs root. Traffic stays on the machine: the Gateway's address is the chart
# Service's LoadBalancer address in the node's blackholed range (test/cluster/README.md).
#   bash test/conformance/run.sh [go test -args flags, e.g. --run-test=HTTPRouteSimpleSameNamespace]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cluster/lib.sh"
report=${REPORT:-$here/report.yaml}
export GOTOOLCHAIN=local # the pinned release (v1.6.3) builds with this machine's Go
node_on_failure() {
  [ -n "${kubeconfig:-}" ] || return 0
  # What a failed run needs to be understood, kept next to the report.
  "$tools_dir/kubectl" --kubeconfig "$kubeconfig" -n "$system" logs deploy/sticky-ingress --tail=200 \
    >"$report.controller.log" 2>&1 || true
}
node_session
system=sticky-system
release=sticky-ingress
kubeconfig=$(bash "$cluster_here/up.sh" | tail -n 1)
up=$((SECONDS - start))
kubectl=("$tools_dir/kubectl" --kubeconfig "$kubeconfig")
cd "$repo_root"

# The echo backend: built once (cached), imported, and tagged with every name the suite's manifests use.
echo_archive=$(bash "$here/echo-image.sh")
ctr=(ctr --address "$run_dir/containerd/containerd.sock" --namespace "$containerd_ns")
"${ctr[@]}" images import --no-unpack=false "$echo_archive" >/dev/null
module_dir=$(cd "$here" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api/conformance)
for image in $(grep -rhoE 'registry\.k8s\.io/gateway-api/echo-basic:[A-Za-z0-9._-]+' "$module_dir/base" "$module_dir/tests" | sort -u); do
  "${ctr[@]}" images tag --force localhost/gateway-api/echo-basic:conformance "$image" >/dev/null
done

# The CRDs of the pinned release (standard channel; the suite checks their bundle-version annotation).
api_dir=$(cd "$here" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
"${kubectl[@]}" apply --server-side -f "$api_dir/config/crd/standard/" >/dev/null
"${kubectl[@]}" wait --for condition=Established --timeout=60s crd --all >/dev/null

# The chart with the repository's image, as the user's path installs it, plus our GatewayClass.
"$tools_dir/helm" --kubeconfig "$kubeconfig" upgrade --install "$release" deploy/helm/sticky-ingress \
  --namespace "$system" --create-namespace \
  --set "image.repository=$(echo "${product_image#docker.io/library/}" | cut -d: -f1)" \
  --set "image.tag=${product_image##*:}" >/dev/null
lb_address=${lb_cidr%.*}.10
# No cloud here: this script plays the load balancer controller (the address is in the blackholed range).
"${kubectl[@]}" -n "$system" patch service "$release" --subresource=status --type=merge \
  -p "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"$lb_address\"}]}}}" >/dev/null
"${kubectl[@]}" apply -f - >/dev/null <<'YAML'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: sticky
spec:
  controllerName: sticky-ingress.dev/controller
YAML
"${kubectl[@]}" -n "$system" rollout status deploy/"$release" --timeout=300s >/dev/null
log "node, echo image, CRDs and chart ready at $((SECONDS - start)) s"

suite_start=$SECONDS
set +e
(cd "$here" && KUBECONFIG=$kubeconfig go test -run TestConformance -v -count=1 -timeout 60m . -args \
  --gateway-class=sticky --report-output="$report" --cleanup-base-resources=false "$@") >"$report.log" 2>&1
suite_status=$?
set -e
for result in PASS FAIL SKIP; do
  log "$result: $(grep -cE "^    --- $result: TestConformance/" "$report.log" || true) tests"
done
log "node up in $up s; suite in $((SECONDS - suite_start)) s (exit $suite_status); report $report, log $report.log"
exit "$suite_status"
