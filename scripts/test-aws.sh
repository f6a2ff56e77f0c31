#!/usr/bin/env bash
# AWS Secrets Manager backend tests: installs (pinned, cached in .cache/localstack/) and starts
# LocalStack (host mode) and moto server on 127.0.0.1, runs the whole conformance suite plus the
# AWS-specific tests against each, and stops them on exit. A target that cannot start fails the run.
#
#   scripts/test-aws.sh                 # both targets
#   AWS_TARGETS=localstack scripts/test-aws.sh
#   AWS_BENCH=1 scripts/test-aws.sh     # also run the latency benchmark against LocalStack
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LS="$ROOT/localstack"
TARGETS="${AWS_TARGETS:-localstack moto}"

started=()
cleanup() {
  for t in "${started[@]}"; do "$LS/stop-$t.sh" || true; done
}
trap cleanup EXIT

# Offline-safe test credentials; never let the SDK fall back to instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export TOKEN_STORE_AWS_PREFIX="token-store-test/from-env/"
unset AWS_PROFILE AWS_SESSION_TOKEN

cd "$ROOT"
cargo build -p token-store-aws --features emulator-tests --tests --examples

for target in $TARGETS; do
  case "$target" in
    localstack) port="${LOCALSTACK_PORT:-4566}" ;;
    moto) port="${MOTO_PORT:-5000}" ;;
    *) echo "unknown AWS target $target (expected localstack or moto)" >&2; exit 2 ;;
  esac
  "$LS/start-$target.sh"
  started+=("$target")
  echo "=== token-store-aws against $target (127.0.0.1:$port) ==="
  log="$ROOT/.cache/localstack/test-$target.log"
  set +e
  TOKEN_STORE_AWS_TARGET="$target" TOKEN_STORE_AWS_ENDPOINT="http://127.0.0.1:$port" \
    AWS_ENDPOINT_URL="http://127.0.0.1:$port" RUST_BACKTRACE=0 \
    cargo test -p token-store-aws --features emulator-tests -- --nocapture >"$log" 2>&1
  status=$?
  set -e
  grep -E '^(test |GATED|requests|stress|raw token|calls|test result|running)|panicked' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "token-store-aws tests FAILED against $target (full log: $log)" >&2
    exit "$status"
  fi
  if [ "$target" = localstack ] && [ "${AWS_BENCH:-0}" = 1 ]; then
    TOKEN_STORE_AWS_ENDPOINT="http://127.0.0.1:$port" \
      cargo run --release -p token-store-aws --features emulator-tests --example aws_bench
  fi
done
