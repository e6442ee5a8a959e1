#!/usr/bin/env bash
# `npm test` runs this first (the `pretest` script): the /stats browser test needs Debian's Chromium at
# /usr/bin/chromium, and README promises that `npm ci && npm test` passes on a fresh machine. When it is missing:
# as root with apt-get, install it once, quietly (what .ci/run does); otherwise fail at once with the exact
# command to run. The browser test is never skipped.
#   CHROMIUM  the path the test launches (default /usr/bin/chromium)
#   APT_GET   the apt-get to use (default apt-get; the tests point it elsewhere)
set -euo pipefail
chromium="${CHROMIUM:-/usr/bin/chromium}"
apt="${APT_GET:-apt-get}"
[ -x "$chromium" ] && exit 0

command_text="apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium"
if [ "$(id -u)" != 0 ] || ! command -v "$apt" >/dev/null 2>&1; then
  echo "npm test: the browser test needs Debian's Chromium at $chromium. Install it (as root):" >&2
  echo "  $command_text" >&2
  exit 1
fi
echo "npm test: installing Debian's chromium for the browser test (once) ..." >&2
export DEBIAN_FRONTEND=noninteractive
# Lock::Timeout: another apt (or another engineer's npm test) may hold the dpkg lock; wait instead of failing.
"$apt" update -qq >/dev/null
"$apt" install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 chromium >/dev/null
if [ ! -x "$chromium" ]; then
  echo "npm test: chromium installed but $chromium is missing; run: $command_text" >&2
  exit 1
fi
