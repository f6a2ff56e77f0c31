#!/usr/bin/env bash
# Start an installed GCP Secret Manager emulator on 127.0.0.1 and wait for its health check.
# Usage: emulators/gcp/start.sh drongo|gsm|blackwell   (prints the endpoint on success)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
name="${1:?usage: start.sh drongo|gsm|blackwell}"
port="$(emulator_port "$name")"
health="$(emulator_health_url "$name")"
pidfile="$CACHE/$name.pid"
log="$CACHE/$name.log"
mkdir -p "$CACHE"

if curl -fsS -o /dev/null "$health" 2>/dev/null; then
  echo "ERROR: something already answers on $health; stop it first (emulators/gcp/stop.sh $name)" >&2
  exit 1
fi

case "$name" in
  # `drongo server`, with TCP_NODELAY on its sockets: its handler writes headers and body
  # separately, and Nagle + delayed ACK would add ~40 ms to every request (NOTES.md).
  drongo) "$CACHE/venv/bin/python" -c '
import sys
from drongo import server
server.DrongoHTTPRequestHandler.disable_nagle_algorithm = True
server.run(host="127.0.0.1", port=int(sys.argv[1]))
' "$port" >"$log" 2>&1 & ;;
  gsm) GSM_HOST=127.0.0.1 GSM_PORT="$port" GSM_LOG_LEVEL=warn "$(emulator_binary gsm)" >"$log" 2>&1 & ;;
  # server-rest binds its HTTP gateway to all interfaces (no host flag) and gRPC to localhost.
  blackwell) "$(emulator_binary blackwell)" --http-port "$port" --grpc-port "${GCP_BLACKWELL_GRPC_PORT:-9097}" --log-level warn >"$log" 2>&1 & ;;
esac
echo $! >"$pidfile"

for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "$health" 2>/dev/null; then
    echo "http://127.0.0.1:$port"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "ERROR: GCP emulator $name exited during start-up; log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "ERROR: GCP emulator $name did not answer $health within 10 s; log:" >&2
cat "$log" >&2
kill "$(cat "$pidfile")" 2>/dev/null || true
exit 1
