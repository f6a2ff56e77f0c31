#!/usr/bin/env bash
# GCP Secret Manager backend tests: installs (pinned, cached in .cache/gcp/) and starts each
# requested emulator on 127.0.0.1, runs the whole engine conformance suite plus the GCP-specific
# tests against it, and stops it on exit. A requested emulator that cannot be installed or
# started fails the run.
#
#   scripts/test-gcp.sh                          # drongo (the emulator the registries serve)
#   GCP_EMULATORS="drongo gsm" scripts/test-gcp.sh
#   GCP_BENCH=1 scripts/test-gcp.sh              # also run the latency benchmark per emulator
#
# gsm and blackwell are Go programs the Go module proxy refuses here; install.sh tries the
# pinned `go install` and otherwise takes a binary from GCP_EMULATOR_BIN_DIR. blackwell cannot
# serve the Rust client (every error is HTTP 500 without a status code): see emulators/gcp/NOTES.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU="$ROOT/emulators/gcp"
EMULATORS="${GCP_EMULATORS:-drongo}"

cleanup() {
  for e in $EMULATORS; do "$EMU/stop.sh" "$e" || true; done
}
trap cleanup EXIT

for emulator in $EMULATORS; do
  case "$emulator" in
    drongo|gsm) ;;
    blackwell)
      echo "ERROR: blackwell's REST gateway answers every error as HTTP 500 without a status code, so the" >&2
      echo "       backend cannot tell NOT_FOUND from a failure; the suite cannot run there (emulators/gcp/NOTES.md)." >&2
      exit 2 ;;
    *) echo "unknown GCP emulator $emulator (drongo, gsm)" >&2; exit 2 ;;
  esac
done

cd "$ROOT"
for emulator in $EMULATORS; do "$EMU/install.sh" "$emulator"; done
cargo build -p token-store-gcp --features emulator-tests --tests --examples

mkdir -p "$ROOT/.cache/gcp"
for emulator in $EMULATORS; do
  endpoint="$("$EMU/start.sh" "$emulator")"
  echo "=== token-store-gcp against $emulator ($endpoint) ==="
  log="$ROOT/.cache/gcp/test-$emulator.log"
  set +e
  TOKEN_STORE_GCP_ENDPOINT="$endpoint" TOKEN_STORE_GCP_EMULATOR="$emulator" \
    cargo test -p token-store-gcp --features emulator-tests --tests -- --nocapture >"$log" 2>&1
  status=$?
  set -e
  grep -E '^(test |GATED|service calls|32x25|large store|raw token|ListSecrets pages|test result|running)|panicked' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "token-store-gcp tests FAILED against $emulator (full log: $log)" >&2
    exit "$status"
  fi
  if [ "${GCP_BENCH:-0}" = 1 ]; then
    TOKEN_STORE_GCP_ENDPOINT="$endpoint" TOKEN_STORE_GCP_EMULATOR="$emulator" \
      cargo run --release -p token-store-gcp --features emulator-tests --example gcp_bench
  fi
  "$EMU/stop.sh" "$emulator"
done
