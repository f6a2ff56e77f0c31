#!/usr/bin/env bash
# Tests of crates/token-store-azure: unit tests, then the engine conformance suite and the
# Azure behaviour tests against Lowkey Vault (installed into .cache/azure/, started on
# 127.0.0.1, stopped on exit). AZURE_BENCH=1 also runs the latency benchmark.
# A Lowkey Vault that cannot be installed or started FAILS the run.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
EMU="$REPO/emulators/azure"
source "$EMU/env.sh"

cargo test -p token-store-azure --lib

"$EMU/install.sh"
already_running=0
if curl -fsS -m 2 "http://127.0.0.1:$LOWKEY_TOKEN_PORT/ping" >/dev/null 2>&1; then already_running=1; fi
stop_lowkey() { if [ "$already_running" = 0 ]; then "$EMU/stop.sh" || true; fi; }
trap stop_lowkey EXIT
export TOKEN_STORE_AZURE_URL="$("$EMU/start.sh")"
export TOKEN_STORE_AZURE_CA="$LOWKEY_CA"

cargo test -p token-store-azure --features emulator-tests
if [ "${AZURE_BENCH:-0}" = 1 ]; then
  cargo run --release -p token-store-azure --features emulator-tests --example azure_bench
fi
