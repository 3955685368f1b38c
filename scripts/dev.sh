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
log "scim-api readiness:"; ready="$(curl -sS "http://127.0.0.1:$API_PORT/readyz")"; printf '%s\n' "$ready"
# The api names its store profile in /readyz (docs/mongodb.md); on the embedded server, say what it is for.
store_note="$(printf '%s' "$ready" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{try{const r=JSON.parse(s).store;if(r&&r.server==="ferretdb")console.log(r.note)}catch{}})')"
[ -n "$store_note" ] && log "note: $store_note (docs/mongodb.md)"
log "scim-worker readiness:"; curl -sS "http://127.0.0.1:$WORKER_PORT/readyz"; echo
# A demo organisation and token through scimctl (the same tenancy code as the controller), then a real SCIM
# request: the Okta-style pre-create lookup, a create, and the lookup again.
scimctl() { node apps/scimctl/dist/main.js "$@"; }
cat >"$state/demo-tenant.yaml" <<'YAML'
apiVersion: scimbridge.io/v1alpha1
kind: ScimTenant
metadata: { name: demo }
spec:
  organisationId: demo
  displayName: Demo Organisation
  defaultGroup: Everyone
YAML
scimctl apply -f "$state/demo-tenant.yaml"
token="$(scimctl --json token rotate demo | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).token))')"
printf '%s\n' "$token" >"$state/demo-token"; chmod 600 "$state/demo-token"
scim="http://127.0.0.1:$API_PORT/scim/v2"
auth=(-H "Authorization: Bearer $token" -H "Content-Type: application/scim+json")
log "SCIM: GET /Users?filter=userName eq \"dev.user@example.com\""
curl -sS "${auth[@]}" "$scim/Users?filter=userName%20eq%20%22dev.user%40example.com%22"; echo
if ! curl -sS "${auth[@]}" "$scim/Groups?filter=displayName%20eq%20%22Everyone%22" | grep -q '"totalResults":1'; then
  log "SCIM: POST /Groups (the default group)"
  curl -sS "${auth[@]}" -X POST "$scim/Groups" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Everyone"}'; echo
fi
log "SCIM: POST /Users"
curl -sS "${auth[@]}" -X POST "$scim/Users" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dev.user@example.com","name":{"givenName":"Dev","familyName":"User"},"emails":[{"type":"work","primary":true,"value":"dev.user@example.com"}],"active":true}'; echo
sleep 1
log "SCIM: GET /Users?filter=userName eq \"DEV.USER@example.com\" (case-insensitive; groups filled by the worker)"
curl -sS "${auth[@]}" "$scim/Users?filter=userName%20eq%20%22DEV.USER%40example.com%22"; echo
log "audit log (scimctl audit tail demo):"; scimctl audit tail demo -n 5
log "demo token (also in $state/demo-token): $token"
log "try: curl -H \"Authorization: Bearer \$(cat $state/demo-token)\" $scim/Users"
log "stack is up: api http://127.0.0.1:$API_PORT, worker ops http://127.0.0.1:$WORKER_PORT (Ctrl-C to stop; logs in $state/logs)"
[ "${DEV_EXIT_AFTER_START:-}" = 1 ] && exit 0
wait
