#!/usr/bin/env bash
# TokenManager end to end, as serverless functions run it: several function instances (separate
# processes, separate caches) start together with the stored token expired or about to expire,
# 200 invocations in all; the stand-in Zoho accounts server must see exactly one refresh, no
# invalidated token, no "Access Denied", every CRM call must carry a live token, and the stored
# token must expire about an hour ahead whichever answer form the server used.
#
#   aws-lambda   the Lambda function under the AWS Lambda Runtime Interface Emulator, store on
#                LocalStack; token expired, Zoho's older answer form (expires_in in ms), and one
#                instance killed (kill -9) in the middle of its refresh on a slow (3 s) server:
#                at most 2 refreshes, every other invocation served
#   gcp-http     the Cloud Run / Azure Functions HTTP handler, store on the drongo GCP emulator;
#                token expired, older answer form
#   file-http    the HTTP handler, store in one Zoho CSV token file; token about to expire
#   sqlite-http  the HTTP handler, store in one SQLite database; token expired
#
# Then, on LocalStack, moto and drongo (and the CSV file): a holder killed while an 8 s accounts
# server works on its refresh, default options: the waiting instance's request must succeed
# within 15 s of the death (examples/serverless-zoho/tests/http_handler.rs).
#
# Installs what it needs (pinned, cached under .cache/), starts the emulators on 127.0.0.1 and
# stops everything it started. An emulator that cannot start fails the run. Also prints each
# run's benchmark table (service calls and latency per cold start, refresh and warm hit).
#
#   OAUTH_RUNS="aws-lambda file-http" scripts/test-oauth.sh     # a subset
#   OAUTH_INSTANCES=4 OAUTH_INVOCATIONS=200                      # the defaults
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${OAUTH_RUNS:-aws-lambda gcp-http file-http sqlite-http}"
INSTANCES="${OAUTH_INSTANCES:-4}"
INVOCATIONS="${OAUTH_INVOCATIONS:-200}"
WORK="$ROOT/.cache/oauth"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
mkdir -p "$WORK"

# Offline test credentials; never let the SDK look for instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

pids=()
emulators=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for emulator in "${emulators[@]}"; do
    case "$emulator" in
      localstack) localstack/stop-localstack.sh >/dev/null 2>&1 || true ;;
      drongo) emulators/gcp/stop.sh drongo >/dev/null 2>&1 || true ;;
      moto) localstack/stop-moto.sh >/dev/null 2>&1 || true ;;
    esac
  done
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_line FILE REGEX: print the first match (waits up to 60 s).
wait_for_line() {
  for _ in $(seq 1 600); do
    if line="$(grep -m1 -oE "$2" "$1" 2>/dev/null)"; then echo "$line"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2; tail -n 20 "$1" >&2; return 1
}

wait_for_port() {
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}

# The workspace's own test build (what `cargo test --workspace --all-targets` made, so nothing
# is rebuilt after it): it builds these binaries for the examples' and stand-in's tests.
cargo test --workspace --all-targets --no-run

"$BIN/zoho-stand-in" 127.0.0.1:0 >"$WORK/stand-in.log" 2>&1 &
pids+=($!)
ZOHO_ACCOUNTS_URL="$(wait_for_line "$WORK/stand-in.log" 'http://127\.0\.0\.1:[0-9]+')"
export ZOHO_ACCOUNTS_URL
echo "stand-in accounts server at $ZOHO_ACCOUNTS_URL"

run_id="$(date +%s)-$$"

# seed URL USER EXPIRES_IN_MS: a token in the store whose access token lives that much more
# (60000: due for refresh; negative: expired).
seed() {
  TOKEN_STORE_URL="$1" ZOHO_USER="$2" SEED_EXPIRES_IN_MS="$3" "$BIN/seed-token"
}

# stand_in FORM DELAY_MS: the stand-in's answer form (seconds | legacy) and token-endpoint delay.
stand_in() {
  curl -fsS -X POST -H 'content-type: application/json' \
    -d "{\"answer_form\":\"$1\",\"delay_ms\":$2}" "$ZOHO_ACCOUNTS_URL/_test/config" >/dev/null
}

# drive LABEL CONCURRENCY URL USER MAX_REFRESHES ENDPOINTS...: the invocations, the checks and
# the table.
drive() {
  local label="$1" concurrency="$2" url="$3" user="$4" max_refreshes="$5"; shift 5
  DRIVE_ENDPOINTS="$*" DRIVE_TOTAL="$INVOCATIONS" DRIVE_CONCURRENCY="$concurrency" \
    DRIVE_LABEL="$label" DRIVE_STORE_URL="$url" DRIVE_USER="$user" \
    DRIVE_MAX_REFRESHES="$max_refreshes" "$BIN/drive"
}

lambda_run() {
  local label="$1" url="$2" user="lambda-$run_id@example.com" rie endpoints=() own=()
  rie="$(emulators/lambda-rie/install.sh)"
  seed "$url" "$user" -1000
  stand_in legacy 3000
  for i in $(seq 1 "$INSTANCES"); do
    local api invoke
    api="$(free_port)"; invoke="$(free_port)"
    TOKEN_STORE_URL="$url" ZOHO_USER="$user" AWS_LAMBDA_FUNCTION_TIMEOUT=60 \
      "$rie" --log-level error --runtime-api-address "127.0.0.1:$api" \
      --runtime-interface-emulator-address "127.0.0.1:$invoke" "$BIN/lambda-zoho" \
      >"$WORK/rie-$i.log" 2>&1 &
    pids+=($!); own+=($!)
    endpoints+=("http://127.0.0.1:$invoke/2015-03-31/functions/function/invocations")
    wait_for_port "$invoke"
  done
  # The first instance takes the lease, asks the slow server, and is killed mid-refresh
  # (its runtime and the function process), as Lambda kills a function at its timeout.
  curl -s -m 30 -X POST -d '{}' "${endpoints[0]}" >/dev/null 2>&1 &
  sleep 1
  pkill -9 -P "${own[0]}" 2>/dev/null || true
  kill -9 "${own[0]}" 2>/dev/null || true
  echo "killed instance 1 in the middle of its refresh"
  stand_in legacy 0
  local rc=0
  drive "$label" 1 "$url" "$user" 2 "${endpoints[@]:1}" || rc=$?
  kill "${own[@]}" 2>/dev/null || true
  stand_in seconds 0
  return "$rc"
}

http_run() {
  local label="$1" url="$2" expires_in_ms="$3" form="$4" endpoints=() own=()
  local user="http-$label-$run_id@example.com"
  seed "$url" "$user" "$expires_in_ms"
  stand_in "$form" 0
  for i in $(seq 1 "$INSTANCES"); do
    local log="$WORK/http-$label-$i.log" port_var=PORT
    # One instance is configured the Azure Functions custom-handler way.
    [ "$i" -eq 1 ] && port_var=FUNCTIONS_CUSTOMHANDLER_PORT
    env "$port_var=0" HTTP_HOST=127.0.0.1 TOKEN_STORE_URL="$url" ZOHO_USER="$user" \
      "$BIN/http-zoho" >"$log" 2>&1 &
    pids+=($!); own+=($!)
  done
  for i in $(seq 1 "$INSTANCES"); do
    endpoints+=("http://$(wait_for_line "$WORK/http-$label-$i.log" '127\.0\.0\.1:[0-9]+')/")
  done
  local rc=0
  drive "$label" 5 "$url" "$user" 1 "${endpoints[@]}" || rc=$?
  kill "${own[@]}" 2>/dev/null || true
  stand_in seconds 0
  return "$rc"
}

status=0
cloud_urls=()
dead_holder_urls=()
for run in $RUNS; do
  echo
  case "$run" in
    aws-lambda)
      port="${LOCALSTACK_PORT:-4566}"
      localstack/start-localstack.sh; emulators+=(localstack)
      cloud_urls+=("aws-secretsmanager://token-store-oauth/$run_id/cargo/?region=us-east-1&endpoint=http://127.0.0.1:$port")
      dead_holder_urls+=("aws-secretsmanager://token-store-oauth/$run_id/dead/?region=us-east-1&endpoint=http://127.0.0.1:$port")
      localstack/start-moto.sh; emulators+=(moto)
      dead_holder_urls+=("aws-secretsmanager://token-store-oauth/$run_id/dead/?region=us-east-1&endpoint=http://127.0.0.1:${MOTO_PORT:-5000}")
      lambda_run aws-lambda "aws-secretsmanager://token-store-oauth/$run_id/?region=us-east-1&endpoint=http://127.0.0.1:$port" || status=1
      ;;
    gcp-http)
      emulators/gcp/install.sh drongo >/dev/null
      endpoint="$(emulators/gcp/start.sh drongo)"; emulators+=(drongo)
      cloud_urls+=("gcp-secretmanager://token-store-oauth/oauth_${run_id//-/_}_c_?endpoint=$endpoint")
      dead_holder_urls+=("gcp-secretmanager://token-store-oauth/oauth_${run_id//-/_}_d_?endpoint=$endpoint")
      http_run gcp-http "gcp-secretmanager://token-store-oauth/oauth_${run_id//-/_}_?endpoint=$endpoint" -1000 legacy || status=1
      ;;
    file-http)
      rm -rf "$WORK/file"; mkdir -p "$WORK/file"
      http_run file-http "file://$WORK/file/sdk_tokens.txt" 60000 seconds || status=1
      ;;
    sqlite-http)
      rm -rf "$WORK/sqlite"; mkdir -p "$WORK/sqlite"
      http_run sqlite-http "sqlite://$WORK/sqlite/tokens.db" -1000 seconds || status=1
      ;;
    *) echo "unknown run $run" >&2; status=1 ;;
  esac
done
echo
echo "== a holder killed mid-refresh (8 s accounts server, default options) on: file ${dead_holder_urls[*]}"
SERVERLESS_ZOHO_STORE_URLS="${dead_holder_urls[*]}" \
  cargo test --workspace --all-targets -- a_killed_holder --nocapture || status=1
if [ "${#cloud_urls[@]}" -gt 0 ]; then
  echo
  echo "== lease race and one refresh among instances, in-process, on: ${cloud_urls[*]}"
  TOKEN_STORE_OAUTH_URLS="${cloud_urls[*]}" \
    cargo test --workspace --test oauth_emulators || status=1
fi
exit "$status"
