#!/usr/bin/env bash
# Runs every test: bootstraps tools if needed, installs dependencies from the lockfile, builds,
# type-checks, lints, then runs the whole vitest suite (which starts its own servers).
# Extra arguments go to vitest, e.g. scripts/test.sh --project scim-core; --faults runs the fault suite only
# (test/faults, docs/testing.md). Without arguments the fault suite runs first, alone on the machine (its checks
# include sub-second revocation and readiness bounds), then every other project, both recording the shape of every
# database command into SCIMBRIDGE_QUERY_SHAPES_DIR, and last the query-shape audit over what they recorded
# (test/query-shapes, docs/query-shapes.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/common.sh"
cd "$here/.."
t0=$SECONDS
faults_first=0
audit_last=0
if [ "${1:-}" = "--faults" ]; then
  shift
  export SCIMBRIDGE_FAULTS=1
  set -- --project faults "$@"
elif [ "$#" -eq 0 ]; then
  faults_first=1
  audit_last=1
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
if [ "$audit_last" = 1 ]; then
  SCIMBRIDGE_QUERY_SHAPES_DIR="$(mktemp -d "${TMPDIR:-/tmp}/scimbridge-query-shapes-XXXXXX")"
  export SCIMBRIDGE_QUERY_SHAPES_DIR
  log "recording query shapes into $SCIMBRIDGE_QUERY_SHAPES_DIR"
fi
if [ "$faults_first" = 1 ]; then
  phase "vitest: fault suite (test/faults)"
  SCIMBRIDGE_FAULTS=1 pnpm exec vitest run --project faults
fi
phase "vitest"
pnpm exec vitest run "$@"
if [ "$audit_last" = 1 ]; then
  phase "vitest: query-shape audit (test/query-shapes, over $SCIMBRIDGE_QUERY_SHAPES_DIR)"
  SCIMBRIDGE_QUERY_AUDIT=1 SCIMBRIDGE_QUERY_AUDIT_FULL=1 pnpm exec vitest run --project query-shapes
fi
log "all tests passed in $((SECONDS - t0))s"
