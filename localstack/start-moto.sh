#!/usr/bin/env bash
# Starts moto server (requests serialized) on 127.0.0.1:${MOTO_PORT:-5000} and waits until it answers. Installs it first if needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$LS_DIR/install-moto.sh" >/dev/null
PORT="${MOTO_PORT:-5000}"
PIDFILE="$CACHE_DIR/moto.pid"
LOG="$CACHE_DIR/moto.log"
URL="http://127.0.0.1:$PORT/moto-api/"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && curl -fsS -o /dev/null "$URL"; then
  echo "moto already running (pid $(cat "$PIDFILE"))"; exit 0
fi
# moto_serialized.py: moto_server with requests processed one at a time (moto itself has no
# locking; see the script and NOTES.md items 1 and 9).
setsid "$CACHE_DIR/moto-venv/bin/python" "$LS_DIR/moto_serialized.py" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
if ! wait_http "$URL" 60 "$PIDFILE" moto; then
  tail -n 40 "$LOG" >&2; exit 1
fi
echo "moto up on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
