#!/usr/bin/env bash
# Lints the Dockerfile. hadolint is used when it is on PATH; it is not obtainable on this project's machines
# (a Haskell binary: not in Debian's archive nor on the npm registry), so scripts/check-dockerfile.ts checks
# the essentials either way: multi-stage, pinned base images, numeric non-root USER, exec-form ENTRYPOINT/CMD,
# no ADD, npm ci --omit=dev, EXPOSE. Its own tests: test/e2e/helm/dockerfile.test.ts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/node_modules/.bin:$PATH"
file=${1:-$root/Dockerfile}
if command -v hadolint >/dev/null; then
  hadolint "$file"
fi
node "$root/scripts/check-dockerfile.ts" "$file"
