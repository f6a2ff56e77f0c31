#!/usr/bin/env bash
# Start a private MariaDB on 127.0.0.1:$MARIADB_PORT (default 33306) with its data, socket and
# log under <repo>/.cache/mariadb/, create the database and the test user, and wait until it
# answers. Idempotent: an instance already answering on our socket is reused.
# Prints the connection URL on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$HERE/env.sh"
export PATH="$PATH:/usr/sbin"
"$HERE/install.sh"
mkdir -p "$MARIADB_HOME"

if ! mariadb_admin ping >/dev/null 2>&1; then
  if [ ! -d "$MARIADB_DATA/mysql" ]; then
    rm -rf "$MARIADB_DATA"
    mariadb-install-db --no-defaults --datadir="$MARIADB_DATA" --user="$MARIADB_RUN_AS" \
      --skip-test-db --skip-name-resolve >"$MARIADB_HOME/install.log" 2>&1 \
      || { cat "$MARIADB_HOME/install.log" >&2; echo "mariadb-install-db failed" >&2; exit 1; }
  fi
  nohup mariadbd --no-defaults --datadir="$MARIADB_DATA" --socket="$MARIADB_SOCKET" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --pid-file="$MARIADB_PID" \
    --log-error="$MARIADB_LOG" --user="$MARIADB_RUN_AS" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-buffer-pool-size=128M --max-connections=400 >/dev/null 2>&1 &
  for _ in $(seq 1 120); do
    if mariadb_admin ping >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  if ! mariadb_admin ping >/dev/null 2>&1; then
    echo "MariaDB did not come up on 127.0.0.1:$MARIADB_PORT; its log:" >&2
    tail -n 40 "$MARIADB_LOG" >&2 || true
    exit 1
  fi
fi

mariadb_root <<SQL
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\` CHARACTER SET utf8mb4;
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}_test\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'localhost' IDENTIFIED BY '$MARIADB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'127.0.0.1', '$MARIADB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`${MARIADB_DATABASE}_test\`.* TO '$MARIADB_USER'@'127.0.0.1', '$MARIADB_USER'@'localhost';
SQL
echo "mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$MARIADB_DATABASE"
