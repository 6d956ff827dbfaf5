#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases with the schema tool shipped in temporalio/admin-tools.
# Idempotent: an existing database or schema is left alone, and `update-schema` only applies missing versions.
# Compose runs it once PostgreSQL reports healthy.
set -eu

: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS (the PostgreSQL host)}"
: "${POSTGRES_USER:?set POSTGRES_USER}"
: "${POSTGRES_PWD:?set POSTGRES_PWD}"
DB_PORT="${DB_PORT:-5432}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"
}

for db in "$DBNAME" "$VISIBILITY_DBNAME"; do
  sql --db "$db" create 2>/dev/null || true
done

sql --db "$DBNAME" setup-schema -v 0.0 2>/dev/null || true
sql --db "$DBNAME" update-schema -d "$SCHEMA_ROOT/temporal/versioned"
sql --db "$VISIBILITY_DBNAME" setup-schema -v 0.0 2>/dev/null || true
sql --db "$VISIBILITY_DBNAME" update-schema -d "$SCHEMA_ROOT/visibility/versioned"
echo "temporal schema ready in $DBNAME and $VISIBILITY_DBNAME"
