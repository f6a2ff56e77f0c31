#!/usr/bin/env bash
# Fetch the pinned lowkey-vault-app jar through Maven into .cache/azure/ (idempotent) and
# check the Java 25 runtime it needs. Fails loudly when either cannot be had.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$AZURE_CACHE"

if ! "$LOWKEY_JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
  echo "FAIL: Lowkey Vault needs Java 25; none at $LOWKEY_JAVA_HOME (set LOWKEY_JAVA_HOME)" >&2
  exit 1
fi

if [ -s "$LOWKEY_JAR" ]; then
  exit 0
fi
command -v mvn >/dev/null || { apt-get update -qq && apt-get install -y -qq maven >/dev/null; }
echo "fetching $LOWKEY_ARTIFACT" >&2
if ! mvn -q -B dependency:copy -Dartifact="$LOWKEY_ARTIFACT" -DoutputDirectory="$AZURE_CACHE" \
     -Dmaven.repo.local="$AZURE_CACHE/m2" >"$AZURE_CACHE/install.log" 2>&1 || [ ! -s "$LOWKEY_JAR" ]; then
  grep -m1 -E "Could not (find|resolve|transfer)" "$AZURE_CACHE/install.log" >&2 || tail -n 3 "$AZURE_CACHE/install.log" >&2 || true
  echo "BLOCKED: $LOWKEY_ARTIFACT could not be fetched from the Maven registry (see $AZURE_CACHE/install.log)." >&2
  echo "         The Azure emulator tests cannot run without it; see emulators/azure/NOTES.md." >&2
  exit 1
fi
