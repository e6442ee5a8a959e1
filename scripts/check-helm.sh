#!/usr/bin/env bash
# CI checks of the Helm chart (deploy/helm/sticky-ingress):
#   1. the chart's crds/stickyroute.yaml is byte-identical to the repository's generated crds/stickyroute.yaml
#      (Helm does not package symlinks, so the chart holds a copy; `--sync` refreshes it);
#   2. values.schema.json is valid JSON declaring JSON Schema draft-07;
#   3. `helm lint --strict` passes with the defaults and with every ci/*-values.yaml;
#   4. `helm template` renders every ci/*-values.yaml;
#   5. every ci-bad/*.yaml FAILS `helm template` with the error its first line announces.
# Applying the rendered objects to a real kube-apiserver is test/e2e/helm/chart.test.ts (npm run test:e2e).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/deploy/helm/sticky-ingress"
helm="${HELM:-$(bash "$root/test/e2e/tools/build.sh" | tail -n 1)/helm}"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# 1. CRD copy.
src="$root/crds/stickyroute.yaml"
dst="$chart/crds/stickyroute.yaml"
if [ "${1:-}" = "--sync" ]; then
  mkdir -p "$(dirname "$dst")"
  cp "$src" "$dst"
  echo "copied $src -> $dst"
fi
if [ ! -f "$src" ]; then
  fail "crds/stickyroute.yaml is missing (generate it first)"
elif ! cmp -s "$src" "$dst"; then
  fail "deploy/helm/sticky-ingress/crds/stickyroute.yaml differs from crds/stickyroute.yaml; run: bash scripts/check-helm.sh --sync"
else
  ok "chart CRD matches crds/stickyroute.yaml"
fi

# 2. Values schema: valid JSON, draft-07.
if node -e '
  const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  if (s.$schema !== "http://json-schema.org/draft-07/schema#") throw new Error(`$schema is ${s.$schema}`);
  if (s.type !== "object" || typeof s.properties !== "object") throw new Error("not an object schema");
' "$chart/values.schema.json"; then
  ok "values.schema.json is a draft-07 schema"
else
  fail "values.schema.json"
fi

# 3 and 4. Lint and render every CI values file.
if "$helm" lint --strict "$chart" >/dev/null; then ok "helm lint --strict (defaults)"; else fail "helm lint --strict (defaults)"; fi
for values in "$chart"/ci/*-values.yaml; do
  name=$(basename "$values")
  if ! out=$("$helm" lint --strict "$chart" -f "$values" 2>&1); then
    echo "$out" >&2
    fail "helm lint --strict -f ci/$name"
  elif ! "$helm" template ci "$chart" --namespace sticky-system -f "$values" >/dev/null; then
    fail "helm template -f ci/$name"
  else
    ok "lint + template ci/$name"
  fi
done

# 5. Bad values must fail, with the announced message (so they fail for the intended reason).
for values in "$chart"/ci-bad/*.yaml; do
  name=$(basename "$values")
  expect=$(sed -n '1s/^# expect: //p' "$values")
  if [ -z "$expect" ]; then
    fail "ci-bad/$name has no '# expect: ...' first line"
    continue
  fi
  if out=$("$helm" template ci "$chart" -f "$values" 2>&1); then
    fail "ci-bad/$name rendered, but must be rejected"
  elif ! grep -qF -- "$expect" <<<"$out"; then
    echo "$out" >&2
    fail "ci-bad/$name failed without the expected message: $expect"
  else
    ok "ci-bad/$name rejected: $expect"
  fi
done

if [ "$failures" -gt 0 ]; then
  echo "$failures Helm check(s) failed" >&2
  exit 1
fi
echo "Helm chart checks passed"
