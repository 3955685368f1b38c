#!/usr/bin/env bash
# Runs every test: bootstraps tools if needed, installs dependencies from the lockfile, builds,
# type-checks, lints, then runs the whole vitest suite (which starts its own servers).
# Extra arguments go to vitest, e.g. scripts/test.sh --project scim-core; --faults runs the fault suite only
# (test/faults, docs/testing.md). Without arguments the fault suite runs first, alone on the machine (its checks
# include sub-second revocation and readiness bounds), then every other project.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/common.sh"
cd "$here/.."
t0=$SECONDS
faults_first=0
if [ "${1:-}" = "--faults" ]; then
  shift
  export SCIMBRIDGE_FAULTS=1
  set -- --project faults "$@"
elif [ "$#" -eq 0 ]; then
  faults_first=1
fi
"$here/bootstrap.sh"
use_tools
phase() { log "$1"; }
phase "pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
phase "build + typecheck"
pnpm exec turbo run build typecheck --output-logs=errors-only
phase "lint"
pnpm run lint
if [ "$faults_first" = 1 ]; then
  phase "vitest: fault suite (test/faults)"
  SCIMBRIDGE_FAULTS=1 pnpm exec vitest run --project faults
fi
phase "vitest"
pnpm exec vitest run "$@"
log "all tests passed in $((SECONDS - t0))s"
