#!/usr/bin/env bash
# Shared by every project script: where the tool cache lives and how to put it on PATH.
# The cache sits outside the repository so a fresh clone (CI) reuses what an earlier run built.
SCIMBRIDGE_CACHE="${SCIMBRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scimbridge}"
SCIMBRIDGE_BIN="$SCIMBRIDGE_CACHE/bin"
export SCIMBRIDGE_CACHE SCIMBRIDGE_BIN
# Nothing here may phone home: turbo's telemetry is off for every project script (and what they start).
export TURBO_TELEMETRY_DISABLED=1

# Pinned tool versions. Change here, rerun scripts/bootstrap.sh.
NODE_MAJOR=24
PNPM_VERSION=12.4.2
FERRETDB_VERSION=v1.24.2
ETCD_VERSION=v3.6.16
KUBERNETES_VERSION=v1.36.3
HELM_VERSION=v3.21.4
SCIM2_TESTER_VERSION=0.5.2
# scim2-tester has no CLI of its own; scim2-cli wraps it as `scim test`.
SCIM2_CLI_VERSION=0.6.0

# Debian's PostgreSQL server binaries (package postgresql): the newest /usr/lib/postgresql/<major>/bin, or nothing.
postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -1; }
# PostgreSQL refuses to run as root; as root it runs as Debian's postgres user: "${as_postgres[@]}" prefixes a
# command with setpriv, which execs it (no wrapper process, so a backgrounded server's $! is the server itself).
as_postgres=()
if [ "$(id -u)" = 0 ]; then as_postgres=(setpriv --reuid postgres --regid postgres --init-groups --); fi

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Every project command runs with the cached tools first on PATH.
use_tools() {
  export PATH="$SCIMBRIDGE_BIN:$SCIMBRIDGE_CACHE/venv/bin:$PATH"
  export GOTOOLCHAIN=local
}
