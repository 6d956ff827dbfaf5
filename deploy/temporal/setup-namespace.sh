#!/bin/sh
# Creates the namespace and registers the search attributes the workflows keep current and the CLI lists by.
# Idempotent: safe on every `docker compose up`. Also usable against any cluster (not Temporal Cloud, where
# search attributes are added in the Cloud UI or with `tcld`): TEMPORAL_ADDRESS=host:7233 sh setup-namespace.sh
set -eu

: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS, e.g. temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_RETENTION:-30d}"

until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"
  sleep 2
done

if ! temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
fi

# A new namespace reaches the frontend's namespace cache a few seconds after it is created; until then search
# attribute calls answer "Namespace ... is not found".
until temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; do
  sleep 1
done

# The names and types in src/contract/search-attributes.ts.
for name in ProvisioningStage CyclrAccountId ConnectorName BatchId; do
  if ! temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" | grep -q "^ *$name "; then
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --name "$name" --type Keyword
  fi
done
echo "namespace $NAMESPACE ready with search attributes ProvisioningStage, CyclrAccountId, ConnectorName, BatchId"
