#!/usr/bin/env bash
# Start the Key Vault double (keyvault_double.py) on 127.0.0.1:$DOUBLE_PORT with a
# certificate it generates ($DOUBLE_CA), and wait for it. Prints the vault URL.
# AZURE_DOUBLE_DELETE_DELAY sets how long deletes and recovers take (seconds).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
health() { curl -fsS -m 2 --cacert "$DOUBLE_CA" "$DOUBLE_URL/_double/health" >/dev/null 2>&1; }
if [ -f "$DOUBLE_PID" ] && kill -0 "$(cat "$DOUBLE_PID")" 2>/dev/null; then
  echo "ERROR: a Key Vault double already runs (pid $(cat "$DOUBLE_PID")); stop-double.sh first" >&2
  exit 1
fi
[ -x "$DOUBLE_VENV/bin/python" ] || { echo "FAIL: no venv; run emulators/azure/install-double.sh" >&2; exit 1; }
rm -f "$DOUBLE_CA"
nohup "$DOUBLE_VENV/bin/python" "$AZURE_EMU_DIR/keyvault_double.py" --port "$DOUBLE_PORT" \
  --cert-out "$DOUBLE_CA" --delete-delay "$DOUBLE_DELETE_DELAY" >"$DOUBLE_LOG" 2>&1 &
echo $! >"$DOUBLE_PID"
for _ in $(seq 1 100); do
  if [ -s "$DOUBLE_CA" ] && health; then
    echo "$DOUBLE_URL"
    exit 0
  fi
  if ! kill -0 "$(cat "$DOUBLE_PID")" 2>/dev/null; then
    cat "$DOUBLE_LOG" >&2; echo "FAIL: the Key Vault double exited during start-up" >&2; exit 1
  fi
  sleep 0.1
done
cat "$DOUBLE_LOG" >&2
echo "FAIL: the Key Vault double did not answer $DOUBLE_URL/_double/health in 10 s" >&2
exit 1
