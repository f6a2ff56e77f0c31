#!/usr/bin/env bash
# End-to-end tests of the `token-store` command (crates/token-store-cli) against MariaDB,
# LocalStack and drongo: starts each (pinned, cached under .cache/; start scripts are
# idempotent), runs the binary's tests with their endpoints, and stops what it started.
# A requested backend that cannot be started or reached fails the run. The file-store and
# SQLite tests of the binary run in `cargo test --workspace` and here too.
#
#   scripts/test-cli.sh
#   LOCALSTACK_PORT=4666 GCP_DRONGO_PORT=8186 MARIADB_PORT=33406 scripts/test-cli.sh   # other ports
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=../emulators/mariadb/env.sh
source "$ROOT/emulators/mariadb/env.sh"

# Offline-safe test credentials; never let the AWS SDK fall back to instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN TOKEN_STORE_URL

started=()
cleanup() {
  for s in "${started[@]}"; do
    case "$s" in
      localstack) localstack/stop-localstack.sh || true ;;
      drongo) emulators/gcp/stop.sh drongo || true ;;
      mariadb) emulators/mariadb/stop.sh || true ;;
    esac
  done
}
trap cleanup EXIT

cargo build -p token-store-cli --features emulator-tests --tests

# MariaDB: reuse one already answering on our socket, else start it (and stop it after).
emulators/mariadb/install.sh
if ! mariadb_admin ping >/dev/null 2>&1; then started+=(mariadb); fi
mysql_url="$(emulators/mariadb/start.sh | tail -n 1)"

# LocalStack: start-localstack.sh reuses an instance it started.
ls_port="${LOCALSTACK_PORT:-4566}"
if ! curl -fsS -o /dev/null "http://127.0.0.1:$ls_port/_localstack/health" 2>/dev/null; then started+=(localstack); fi
localstack/start-localstack.sh

# drongo: start.sh refuses a port that answers, so reuse a drongo that is up.
emulators/gcp/install.sh drongo
source emulators/gcp/common.sh
gcp_port="$(emulator_port drongo)"
if curl -fsS -o /dev/null "$(emulator_health_url drongo)" 2>/dev/null; then
  gcp_endpoint="http://127.0.0.1:$gcp_port"
else
  started+=(drongo)
  gcp_endpoint="$(emulators/gcp/start.sh drongo)"
fi

echo "=== token-store CLI against MariaDB, LocalStack (127.0.0.1:$ls_port) and drongo ($gcp_endpoint) ==="
TOKEN_STORE_CLI_MYSQL_URL="$mysql_url" \
TOKEN_STORE_CLI_AWS_ENDPOINT="http://127.0.0.1:$ls_port" \
TOKEN_STORE_CLI_GCP_ENDPOINT="$gcp_endpoint" \
  cargo test -p token-store-cli --features emulator-tests -- --nocapture --test-threads 1
