#!/usr/bin/env bash
# Brings up the local stack on the embedded default: FerretDB (SQLite, data in .local/) and Redis started
# by the project, then scim-api, scim-worker and scim-controller-less mode (no Kubernetes needed), and
# shows the api answering. Ctrl-C stops everything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/common.sh"
cd "$here/.."
"$here/bootstrap.sh"
use_tools
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
pnpm exec turbo run build --output-logs=errors-only

state=".local"
mkdir -p "$state/ferretdb" "$state/redis" "$state/logs"
MONGO_PORT="${MONGO_PORT:-27017}"; REDIS_PORT="${REDIS_PORT:-6379}"
API_PORT="${API_PORT:-8080}"; WORKER_PORT="${WORKER_PORT:-9091}"

pids=()
cleanup() { log "stopping"; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

ferretdb -listen "127.0.0.1:$MONGO_PORT" -sqlite-dir "$state/ferretdb" >"$state/logs/ferretdb.log" 2>&1 & pids+=($!)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$state/redis" >"$state/logs/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/scimbridge" REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export NODE_ENV=development LOG_LEVEL="${LOG_LEVEL:-info}"
PORT="$API_PORT" HOST=127.0.0.1 node --enable-source-maps apps/scim-api/dist/main.js & pids+=($!)
PORT="$WORKER_PORT" HOST=127.0.0.1 node --enable-source-maps apps/scim-worker/dist/main.js & pids+=($!)

for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
log "scim-api readiness:"; curl -sS "http://127.0.0.1:$API_PORT/readyz"; echo
log "scim-worker readiness:"; curl -sS "http://127.0.0.1:$WORKER_PORT/readyz"; echo
log "stack is up: api http://127.0.0.1:$API_PORT, worker ops http://127.0.0.1:$WORKER_PORT (Ctrl-C to stop; logs in $state/logs)"
[ "${DEV_EXIT_AFTER_START:-}" = 1 ] && exit 0
wait
