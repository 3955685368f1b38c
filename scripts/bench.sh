#!/usr/bin/env bash
# Runs every benchmark script and prints its figures (benchmarks are not tests: nothing is asserted).
# One package: scripts/bench.sh @scimbridge/scim-core   (sizes are set through each bench's env vars; see docs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/common.sh"
cd "$here/.."
"$here/bootstrap.sh"
use_tools
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(@scimbridge/testing @scimbridge/scim-core @scimbridge/scim-api @scimbridge/scim-worker @scimbridge/scim-controller)
for p in "${packages[@]}"; do
  log "benchmark $p"
  pnpm --filter "$p" bench
done
