#!/usr/bin/env bash
# Stops what scripts/cluster/up.sh started: the Temporal server, then PostgreSQL. Data, certificates and ports are
# kept, so `up.sh` brings the same cluster back; `--purge` deletes them too. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$ROOT/.tmp/cluster}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -d "$CLUSTER_DIR" ] || exit 0

SERVER_PID_FILE="$CLUSTER_DIR/temporal.pid"
if [ -f "$SERVER_PID_FILE" ]; then
  pid="$(cat "$SERVER_PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    echo "cluster: Temporal server stopped" >&2
  fi
  rm -f "$SERVER_PID_FILE"
fi

PG_DATA="$CLUSTER_DIR/pg"
if [ -f "$PG_DATA/postmaster.pid" ]; then
  if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(); fi
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null && echo "cluster: PostgreSQL stopped" >&2
fi

if [ "${1:-}" = "--purge" ]; then
  rm -rf "$CLUSTER_DIR"
  echo "cluster: $CLUSTER_DIR removed" >&2
fi
