#!/usr/bin/env bash
# Stop the private MariaDB started by start.sh (its data stays in .cache/mariadb/data).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$HERE/env.sh"
if mariadb_admin ping >/dev/null 2>&1; then
  mariadb_admin shutdown || true
fi
if [ -f "$MARIADB_PID" ]; then
  pid="$(cat "$MARIADB_PID")"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
fi
