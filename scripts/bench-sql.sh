#!/usr/bin/env bash
# Benchmark: ops/s of find and save for MySqlStore and the Zoho Python SDK's DBStore against
# the same private MariaDB, and for SqliteStore, side by side in one run. Starts MariaDB (and
# stops it on exit unless it was already running). BENCH_ITERATIONS (default 2000) per figure.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
MARIADB="$REPO/emulators/mariadb"
# shellcheck source=../emulators/mariadb/env.sh
source "$MARIADB/env.sh"

"$MARIADB/install.sh"
already_running=0
if mariadb_admin ping >/dev/null 2>&1; then already_running=1; fi
stop_mariadb() {
  if [ "$already_running" = 0 ]; then "$MARIADB/stop.sh" || true; fi
}
trap stop_mariadb EXIT
"$MARIADB/start.sh" >/dev/null
BENCH_DB="${MARIADB_DATABASE}_test"
mariadb_root -e "CREATE DATABASE IF NOT EXISTS \`$BENCH_DB\` CHARACTER SET utf8mb4;
  DROP TABLE IF EXISTS \`$BENCH_DB\`.bench_zoho, \`$BENCH_DB\`.bench_mysqlstore;
  CREATE TABLE \`$BENCH_DB\`.bench_zoho (id varchar(10) NOT NULL, user_name varchar(255),
  client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
  grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255),
  primary key (id));"
ZOHO_PY="$("$REPO/interop/zoho-db/setup-venv.sh")"
export TOKEN_STORE_MYSQL_URL="mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$BENCH_DB"
export BENCH_ITERATIONS="${BENCH_ITERATIONS:-2000}"

cargo build --release -q -p token-store-sql --example bench
results="$(mktemp)"
trap 'rm -f "$results"; stop_mariadb' EXIT
echo "MariaDB $(mariadb_root -N -e 'SELECT VERSION()'), $BENCH_ITERATIONS calls per figure, one client," \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$REPO/target/release/examples/bench" | tee -a "$results" >&2
DBSTORE_HOST=127.0.0.1 DBSTORE_PORT="$MARIADB_PORT" DBSTORE_USER="$MARIADB_USER" \
  DBSTORE_PASSWORD="$MARIADB_PASSWORD" DBSTORE_DATABASE="$BENCH_DB" DBSTORE_TABLE=bench_zoho \
  "$ZOHO_PY" "$REPO/interop/zoho-db/bench_dbstore.py" | tee -a "$results" >&2

echo
printf '%-16s %-28s %s\n' store operation ops/s
awk '/^RESULT/ { $1 = ""; printf "%-16s %-28s", $2, $3; $2 = ""; $3 = ""; sub(/^ +/, ""); print " " $0 }' "$results"
