#!/usr/bin/env bash
# Tests of crates/token-store-azure:
#  1. unit tests;
#  2. the replay of recorded real Key Vault traffic (azure-keyvault-secrets 4.0.0's
#     recordings, fetched pinned and sha256-checked into .cache/azure/) against the backend;
#  3. the Key Vault double (emulators/azure/keyvault_double.py): started on 127.0.0.1:8543,
#     checked against the same recordings (check_double.py), then the conformance suite and
#     the behaviour tests run on it; stopped on exit;
#  4. the same suites on Lowkey Vault where its jar is present in .cache/azure/ (it cannot
#     be fetched here: emulators/azure/NOTES.md), with the double-only test skipped by name.
# AZURE_BENCH=1 also runs the latency benchmark on the double. Anything that cannot be
# installed, started or reached FAILS the run.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
EMU="$REPO/emulators/azure"
source "$EMU/env.sh"

cargo test -p token-store-azure --lib

TOKEN_STORE_AZURE_RECORDINGS="$("$EMU/fetch-recordings.sh")"
export TOKEN_STORE_AZURE_RECORDINGS
cargo test -p token-store-azure --features recorded-traffic --test replay

"$EMU/install-double.sh"
trap '"$EMU/stop-double.sh" || true' EXIT
export TOKEN_STORE_AZURE_URL="$("$EMU/start-double.sh")"
export TOKEN_STORE_AZURE_CA="$DOUBLE_CA"
"$DOUBLE_VENV/bin/python" "$EMU/check_double.py" "$TOKEN_STORE_AZURE_RECORDINGS" \
  "$TOKEN_STORE_AZURE_URL" "$TOKEN_STORE_AZURE_CA"
cargo test -p token-store-azure --features emulator-tests
if [ "${AZURE_BENCH:-0}" = 1 ]; then
  cargo run --release -p token-store-azure --features emulator-tests --example azure_bench
fi

if [ -s "$LOWKEY_JAR" ]; then
  "$EMU/install.sh"
  trap '"$EMU/stop-double.sh" || true; "$EMU/stop.sh" || true' EXIT
  export TOKEN_STORE_AZURE_URL="$("$EMU/start.sh")"
  export TOKEN_STORE_AZURE_CA="$LOWKEY_CA"
  # throttled_requests_are_retried: Lowkey Vault has no way to answer 429 on demand.
  cargo test -p token-store-azure --features emulator-tests -- --skip throttled_requests_are_retried
else
  echo "Lowkey Vault: $LOWKEY_JAR not present (not fetchable here, see emulators/azure/NOTES.md); the suites ran on the Key Vault double"
fi
