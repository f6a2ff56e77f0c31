# Shared settings of the private MariaDB instance; sourced by install.sh, start.sh and stop.sh.
# Everything lives under <repo>/.cache/mariadb/ (ignored by git).
MARIADB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MARIADB_HOME="${MARIADB_HOME:-$MARIADB_REPO/.cache/mariadb}"
MARIADB_DATA="$MARIADB_HOME/data"
MARIADB_SOCKET="$MARIADB_HOME/mysqld.sock"
MARIADB_PID="$MARIADB_HOME/mysqld.pid"
MARIADB_LOG="$MARIADB_HOME/mysqld.log"
MARIADB_PORT="${MARIADB_PORT:-33306}"
# Test-only credentials of the private instance (bound to 127.0.0.1, data in .cache/).
MARIADB_USER="${MARIADB_USER:-tokenstore}"
MARIADB_PASSWORD="${MARIADB_PASSWORD:-tokenstore-test}"
MARIADB_DATABASE="${MARIADB_DATABASE:-zohooauth}"
# mariadbd refuses to run as root unless told to.
MARIADB_RUN_AS="$(id -un)"

mariadb_admin() { mariadb-admin --no-defaults --socket="$MARIADB_SOCKET" -uroot "$@"; }
mariadb_root() { mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot "$@"; }
