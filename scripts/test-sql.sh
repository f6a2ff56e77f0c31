#!/usr/bin/env bash
# Tests of crates/token-store-sql: the conformance suite on SQLite and on a private MariaDB,
# the injection / raw-row / article-DDL checks, and the interop with the Zoho Python SDK's
# DBStore. Installs what it needs (mariadb-server from apt, a venv with the pinned Zoho SDK
# under .cache/zoho-py), starts MariaDB on 127.0.0.1 with its data under .cache/mariadb/,
# and stops it on exit (unless it was already running). Runnable from any directory.
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

# A fresh, empty test database each run (tables are per test case).
TEST_DB="${MARIADB_DATABASE}_test"
mariadb_root -e "DROP DATABASE IF EXISTS \`$TEST_DB\`; CREATE DATABASE \`$TEST_DB\` CHARACTER SET utf8mb4;"
export TOKEN_STORE_MYSQL_URL="mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$TEST_DB"

ZOHO_PY="$("$REPO/interop/zoho-db/setup-venv.sh")"
export ZOHO_PY

cargo test -p token-store-sql --features mysql-tests
