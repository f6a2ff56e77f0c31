#!/usr/bin/env bash
# Starts LocalStack (host mode, Secrets Manager only) on 127.0.0.1:${LOCALSTACK_PORT:-4566} and waits until
# /_localstack/health reports secretsmanager available. Installs it first if needed. Idempotent:
# an instance already started by this script is reused.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$LS_DIR/install-localstack.sh" >/dev/null
PORT="${LOCALSTACK_PORT:-4566}"
PIDFILE="$CACHE_DIR/localstack.pid"
LOG="$CACHE_DIR/localstack.log"
URL="http://127.0.0.1:$PORT/_localstack/health"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && curl -fsS -o /dev/null "$URL"; then
  echo "localstack already running (pid $(cat "$PIDFILE"))"; exit 0
fi
mkdir -p "$CACHE_DIR/state"
# setsid: its own process group, so stop-localstack.sh can end exactly what this started.
GATEWAY_LISTEN="127.0.0.1:$PORT" SERVICES="${LOCALSTACK_SERVICES:-secretsmanager}" EAGER_SERVICE_LOADING=1 \
  LOCALSTACK_HOST="127.0.0.1:$PORT" DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 \
  FILESYSTEM_ROOT="$CACHE_DIR/state" PERSISTENCE=0 GATEWAY_WORKER_COUNT=1 \
  setsid "$CACHE_DIR/venv/bin/python" -m localstack.runtime.main >"$LOG" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
if ! wait_http "$URL" 120 "$PIDFILE" localstack; then
  tail -n 40 "$LOG" >&2; exit 1
fi
# Health answers before the service is loaded; wait for secretsmanager to show as available/running.
for _ in $(seq 1 120); do
  if curl -fsS "$URL" | grep -Eq '"secretsmanager": *"(available|running)"'; then
    echo "localstack up on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; exit 0
  fi
  sleep 0.5
done
echo "localstack health never listed secretsmanager:" >&2; curl -sS "$URL" >&2 || true
exit 1
