#!/usr/bin/env bash
# Stop the Lowkey Vault process start.sh launched (by its recorded pid only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ -f "$LOWKEY_PID" ] || exit 0
pid="$(cat "$LOWKEY_PID")"
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
fi
rm -f "$LOWKEY_PID"
