#!/usr/bin/env bash
# Brings up the local stack on the embedded default: PostgreSQL (Debian's) under FerretDB, Redis, scim-api and
# scim-worker (no Kubernetes needed; scimctl stands in for the controller), runs a demo SCIM exchange and prints
# a short summary. The services' JSON logs go to $DEV_STATE_DIR/logs/, not to the terminal. Ctrl-C stops everything.
#   DEV_STORE=postgresql (default) | sqlite   FerretDB's backend (docs/testing.md "Known limits of the test server")
#   DEV_STATE_DIR=.local   data, logs, the demo token     DEV_EXIT_AFTER_START=1   stop after the summary
#   DEV_SKIP_BUILD=1       use the builds already in dist/
#   MONGO_PORT REDIS_PORT POSTGRES_PORT API_PORT WORKER_PORT
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/common.sh"
cd "$here/.."
log "bootstrapping tools into $SCIMBRIDGE_CACHE (the first run builds FerretDB and friends: minutes)"
"$here/bootstrap.sh" 2>"${TMPDIR:-/tmp}/scimbridge-bootstrap.$$" || { cat "${TMPDIR:-/tmp}/scimbridge-bootstrap.$$" >&2; exit 1; }
rm -f "${TMPDIR:-/tmp}/scimbridge-bootstrap.$$"
use_tools
# DEV_SKIP_BUILD=1: the caller built everything already (test/smoke/dev-stack.test.ts, after scripts/test.sh's build).
if [ "${DEV_SKIP_BUILD:-}" != 1 ]; then
  log "installing and building (pnpm, turbo)"
  pnpm install --frozen-lockfile --reporter=silent >/dev/null
  pnpm exec turbo run build --output-logs=errors-only >/dev/null
fi

state="${DEV_STATE_DIR:-.local}"
mkdir -p "$state/ferretdb" "$state/redis" "$state/logs"
state="$(cd "$state" && pwd)"
logs="$state/logs"
store="${DEV_STORE:-postgresql}"
MONGO_PORT="${MONGO_PORT:-27017}"; REDIS_PORT="${REDIS_PORT:-6379}"; POSTGRES_PORT="${POSTGRES_PORT:-55432}"
API_PORT="${API_PORT:-8080}"; WORKER_PORT="${WORKER_PORT:-9091}"

servers=(); apps=(); pg_pid=""
# The services first (they flush their buffers to MongoDB and Redis on SIGTERM), then the servers under them;
# PostgreSQL's SIGTERM waits for its sessions to end, so it gets SIGINT, its fast shutdown.
stop() { for p in "$@"; do kill "$p" 2>/dev/null || true; done; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }
cleanup() {
  stop "${apps[@]}"
  stop "${servers[@]}"
  [ -z "$pg_pid" ] || { kill -INT "$pg_pid" 2>/dev/null || true; wait "$pg_pid" 2>/dev/null || true; }
}
trap cleanup EXIT
trap 'log "stopping"; exit 0' INT TERM
wait_for() { # what, tries, command...
  local what="$1" tries="$2"; shift 2
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "$what did not come up; its log: $logs/$what.log"; tail -20 "$logs/$what.log" >&2 || true; exit 1
}

case "$store" in
  postgresql)
    pg="$(postgres_bin)"
    [ -n "$pg" ] || { log "no PostgreSQL server (scripts/bootstrap.sh apt installs it); or DEV_STORE=sqlite"; exit 1; }
    mkdir -p "$state/postgres"
    if [ "$(id -u)" = 0 ]; then chown postgres "$state/postgres"; fi
    "${as_postgres[@]}" test -w "$state/postgres" ||
      { log "user postgres cannot write $state/postgres (a parent directory is private?): set DEV_STATE_DIR, or DEV_STORE=sqlite"; exit 1; }
    if [ ! -f "$state/postgres/data/PG_VERSION" ]; then
      "${as_postgres[@]}" "$pg/initdb" -D "$state/postgres/data" -U postgres --auth=trust -E UTF8 --no-sync \
        >"$logs/postgres.log" 2>&1 || { log "initdb failed (can user postgres write $state/postgres?)"; tail -5 "$logs/postgres.log" >&2; exit 1; }
    fi
    "${as_postgres[@]}" "$pg/postgres" -D "$state/postgres/data" -p "$POSTGRES_PORT" -k "$state/postgres" \
      -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c log_min_duration_statement=1000 \
      >>"$logs/postgres.log" 2>&1 & pg_pid=$!
    wait_for postgres 100 "$pg/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT"
    # GIN twins of FerretDB's indexes, so its pushed-down equalities are index look-ups (idempotent; docs/testing.md).
    "$pg/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -q -v ON_ERROR_STOP=1 -f scripts/postgres/ferretdb-gin.sql \
      >>"$logs/postgres.log" 2>&1 || { log "installing scripts/postgres/ferretdb-gin.sql failed; see $logs/postgres.log"; exit 1; }
    backend=(-postgresql-url "postgres://postgres@127.0.0.1:$POSTGRES_PORT/postgres")
    store_where="FerretDB on PostgreSQL $(basename "$(dirname "$pg")") (127.0.0.1:$POSTGRES_PORT, data in $state/postgres)"
    ;;
  sqlite)
    backend=(-sqlite-dir "$state/ferretdb")
    store_where="FerretDB on SQLite (data in $state/ferretdb)"
    ;;
  *) log "DEV_STORE must be postgresql or sqlite, not '$store'"; exit 2 ;;
esac
ferretdb -listen "127.0.0.1:$MONGO_PORT" "${backend[@]}" >"$logs/ferretdb.log" 2>&1 & servers+=($!)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$state/redis" >"$logs/redis.log" 2>&1 & servers+=($!)
wait_for redis 50 redis-cli -p "$REDIS_PORT" ping

export MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/scimbridge" REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export NODE_ENV=development LOG_LEVEL="${LOG_LEVEL:-info}"
PORT="$API_PORT" HOST=127.0.0.1 node --enable-source-maps apps/scim-api/dist/main.js >"$logs/scim-api.log" 2>&1 & apps+=($!)
PORT="$WORKER_PORT" HOST=127.0.0.1 node --enable-source-maps apps/scim-worker/dist/main.js >"$logs/scim-worker.log" 2>&1 & apps+=($!)
wait_for scim-api 150 curl -fsS "http://127.0.0.1:$API_PORT/readyz"
wait_for scim-worker 150 curl -fsS "http://127.0.0.1:$WORKER_PORT/readyz"
# The api names its store profile in /readyz (docs/mongodb.md); on the embedded server it says what it is for.
store_note="$(curl -sS "http://127.0.0.1:$API_PORT/readyz" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{try{const r=JSON.parse(s).store;console.log(r.server==="ferretdb"?r.note:"MongoDB profile")}catch{console.log("?")}})')"

# A demo organisation and token through scimctl (the same tenancy code as the controller), then real SCIM
# requests: the Okta-style pre-create lookup, a create, and the lookup again.
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
scimctl apply -f "$state/demo-tenant.yaml" >"$logs/scimctl.log" 2>&1
token="$(scimctl --json token rotate demo 2>>"$logs/scimctl.log" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).token))')"
printf '%s\n' "$token" >"$state/demo-token"; chmod 600 "$state/demo-token"
scim="http://127.0.0.1:$API_PORT/scim/v2"
# One line per exchange: method, path, status and the part of the answer that matters.
exchange() { # method path [body]
  local method="$1" path="$2" body="${3:-}" out status
  out="$(curl -sS -w '\n%{http_code}' -X "$method" -H "Authorization: Bearer $token" \
    -H "Content-Type: application/scim+json" ${body:+-d "$body"} "$scim$path")"
  status="${out##*$'\n'}"
  printf '%s' "${out%$'\n'*}" >"$state/last-response.json"
  printf '  %-6s %-58s %s  %s\n' "$method" "$(printf '%s' "$path" | sed 's/%20/ /g; s/%22/"/g; s/%40/@/g')" "$status" \
    "$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const u=r.Resources?r.Resources[0]:r;
      console.log(r.Resources?`totalResults=${r.totalResults}`+(u?` id=${u.id} groups=${JSON.stringify((u.groups??[]).map(g=>g.display))}`:""):r.id?`id=${r.id} ${r.userName??r.displayName}`:`${r.detail??""}`)' "$state/last-response.json" 2>/dev/null || true)"
}
lookup="/Users?filter=userName%20eq%20%22dev.user%40example.com%22"
demo="$(
  exchange GET "$lookup"
  curl -sS -H "Authorization: Bearer $token" "$scim/Groups?filter=displayName%20eq%20%22Everyone%22" | grep -q '"totalResults":1' ||
    exchange POST /Groups '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Everyone"}'
  exchange POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dev.user@example.com","name":{"givenName":"Dev","familyName":"User"},"emails":[{"type":"work","primary":true,"value":"dev.user@example.com"}],"active":true}'
  sleep 1 # the worker adds the user to the default group
  exchange GET "/Users?filter=userName%20eq%20%22DEV.USER%40example.com%22"
)"
audit="$(scimctl audit tail demo -n 5 2>>"$logs/scimctl.log" | sed 's/^/  /')"

cat >&2 <<SUMMARY

scimbridge is up (embedded default)
  scim-api     http://127.0.0.1:$API_PORT/scim/v2   (health /readyz, metrics /metrics)
  scim-worker  http://127.0.0.1:$WORKER_PORT       (health /readyz, metrics /metrics)
  store        $store_where, MongoDB wire at 127.0.0.1:$MONGO_PORT
  redis        127.0.0.1:$REDIS_PORT
  note         $store_note (docs/mongodb.md)

demo organisation "demo" (scimctl apply -f $state/demo-tenant.yaml), SCIM exchange:
$demo
audit events (scimctl audit tail demo):
$audit

token        kept in $state/demo-token (scimctl token rotate demo makes a new one)
try          curl -H "Authorization: Bearer \$(cat $state/demo-token)" $scim/Users
logs         $logs/ ($(cd "$logs" && ls *.log | tr '\n' ' '))
SUMMARY
if [ "${DEV_EXIT_AFTER_START:-}" = 1 ]; then exit 0; fi
log "Ctrl-C stops the stack"
wait
