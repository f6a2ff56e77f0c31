#!/usr/bin/env bash
# Stop a GCP Secret Manager emulator started by start.sh (by its recorded pid; idempotent).
# Usage: emulators/gcp/stop.sh drongo|gsm|blackwell
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
name="${1:?usage: stop.sh drongo|gsm|blackwell}"
pidfile="$CACHE/$name.pid"
[ -f "$pidfile" ] || exit 0
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"
