#!/usr/bin/env bash
# Runs sticky-ingress in a kind cluster: build + load the images, install the chart (with its CRD), deploy a
# 3-replica socket.io sample, check cookie affinity through the NodePort, then run the e2e suites against the
# cluster. Needs docker, kind, kubectl and helm on PATH (see README.md: not runnable on the project's CI
# machines, which have no Docker engine). KEEP=1 keeps the cluster afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cluster=sticky-e2e
for tool in docker kind kubectl helm curl; do
  command -v "$tool" >/dev/null || { echo "run.sh needs $tool on PATH" >&2; exit 2; }
done

kubeconfig=$(mktemp)
cleanup() {
  if [ "${KEEP:-0}" != 1 ]; then kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; fi
  rm -f "$kubeconfig"
}
trap cleanup EXIT
export KUBECONFIG=$kubeconfig

echo "--- cluster"
kind create cluster --config "$here/kind-config.yaml" --kubeconfig "$kubeconfig" --wait 120s

echo "--- images"
docker build -t sticky-ingress:e2e "$root"
docker build -t sticky-backend:e2e -f "$here/backend.Dockerfile" "$root"
kind load docker-image sticky-ingress:e2e sticky-backend:e2e --name "$cluster"

echo "--- CRD and chart"
# The chart installs crds/ on first install; applying the repository's CRD explicitly is what an upgrade
# needs too (Helm never upgrades crds/), so the script does it the way docs/install.md says.
kubectl apply --server-side -f "$root/crds/stickyroute.yaml"
helm install sticky-ingress "$root/deploy/helm/sticky-ingress" --namespace sticky-system --create-namespace \
  -f "$here/values-kind.yaml" --wait --timeout 180s
kubectl -n sticky-system rollout status deployment/sticky-ingress --timeout=120s

echo "--- socket.io sample"
kubectl apply -f "$here/sample.yaml"
kubectl -n chat rollout status deployment/chat --timeout=120s
# Wait until the controller has programmed the route (404 until then; bounded: 60 tries).
for i in $(seq 1 60); do
  curl -fsS -o /dev/null -H 'Host: chat.example.test' http://127.0.0.1:8080/ && break
  [ "$i" = 60 ] && { echo "the chat route never answered" >&2; exit 1; }
  sleep 2
done

echo "--- affinity smoke test"
jar=$(mktemp)
first=""
for i in $(seq 1 10); do
  id=$(curl -fsS -c "$jar" -b "$jar" -H 'Host: chat.example.test' http://127.0.0.1:8080/ | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  [ -n "$first" ] || first=$id
  if [ "$id" != "$first" ]; then
    echo "request $i reached $id, not $first: affinity broken" >&2
    exit 1
  fi
done
rm -f "$jar"
echo "10 requests with the cookie all reached $first"

echo "--- e2e suites against the cluster"
# STICKY_E2E_KUBECONFIG switches the framework from its own kube-apiserver to this cluster, with the
# ingress already running at the given addresses (see README.md). Only suites that need nothing but the API
# server, the ingress' ports and backends: the rest stop the apiserver, start or kill controller processes,
# run the controller in-process, or install the chart themselves (test/cluster/README.md).
suites=(
  test/e2e/routing/routing.test.ts
  test/e2e/invalid/invalid.test.ts
  test/e2e/affinity/affinity.test.ts
  test/e2e/endpoints/endpoints.test.ts
  test/e2e/socketio/socketio.test.ts
  test/e2e/stickyroute/stickyroute.test.ts
  test/e2e/tls/tls.test.ts
)
cd "$root"
export PATH="$root/node_modules/.bin:$PATH" # Node 24 (the repository's), as npm run does
STICKY_E2E_KUBECONFIG=$kubeconfig \
STICKY_E2E_INGRESS_HTTP=http://127.0.0.1:8080 \
STICKY_E2E_INGRESS_HTTPS=https://127.0.0.1:8443 \
STICKY_E2E_BACKEND_IMAGE=sticky-backend:e2e \
  node --test --test-concurrency=1 --test-timeout=900000 "${suites[@]}"
