#!/usr/bin/env bash
# Stop the Key Vault double start-double.sh launched (by its recorded pid only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ -f "$DOUBLE_PID" ] || exit 0
pid="$(cat "$DOUBLE_PID")"
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
fi
rm -f "$DOUBLE_PID"
