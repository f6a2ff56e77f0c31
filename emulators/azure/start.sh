#!/usr/bin/env bash
# Start Lowkey Vault on 127.0.0.1 (HTTPS $LOWKEY_PORT, token/metadata HTTP $LOWKEY_TOKEN_PORT),
# wait for it, export its certificate as PEM ($LOWKEY_CA) and make sure the test vault
# $LOWKEY_VAULT_URL exists with a recovery level that allows purge. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

ping_ok() { curl -fsS -m 2 "http://127.0.0.1:$LOWKEY_TOKEN_PORT/ping" >/dev/null 2>&1; }

if ! ping_ok; then
  [ -s "$LOWKEY_JAR" ] || { echo "FAIL: $LOWKEY_JAR missing; run emulators/azure/install.sh" >&2; exit 1; }
  # No auto-registered vaults: the test vault is created below with a purgeable recovery level
  # (the auto-registered ones are "Recoverable", which refuses purge).
  nohup "$LOWKEY_JAVA_HOME/bin/java" -Xmx512m -jar "$LOWKEY_JAR" \
    --server.address=127.0.0.1 --server.port="$LOWKEY_PORT" --app.token.port="$LOWKEY_TOKEN_PORT" \
    --LOWKEY_VAULT_NAMES=- >"$LOWKEY_LOG" 2>&1 &
  echo $! >"$LOWKEY_PID"
  for _ in $(seq 1 120); do
    ping_ok && break
    if ! kill -0 "$(cat "$LOWKEY_PID")" 2>/dev/null; then
      tail -n 20 "$LOWKEY_LOG" >&2; echo "FAIL: Lowkey Vault exited during start-up" >&2; exit 1
    fi
    sleep 1
  done
  ping_ok || { tail -n 20 "$LOWKEY_LOG" >&2; echo "FAIL: Lowkey Vault did not answer /ping in 120 s" >&2; exit 1; }
fi

# The emulator's self-signed certificate, for the tests' transport (trusted as the only root).
p12="$AZURE_CACHE/lowkey-vault.p12"
curl -fsS -m 10 -o "$p12" "http://127.0.0.1:$LOWKEY_TOKEN_PORT/metadata/default-cert/lowkey-vault.p12"
password="$(curl -fsS -m 10 "http://127.0.0.1:$LOWKEY_TOKEN_PORT/metadata/default-cert/password")"
openssl pkcs12 -in "$p12" -nokeys -passin "pass:$password" 2>/dev/null | openssl x509 -out "$LOWKEY_CA"

# The test vault: purgeable, so deleted names can be purged and reused.
api=(curl -fsS -m 10 --cacert "$LOWKEY_CA" -H 'Authorization: Bearer dummy' -H 'Content-Type: application/json')
if ! "${api[@]}" "$LOWKEY_VAULT_URL/management/vault" | grep -q "\"$LOWKEY_VAULT_URL\""; then
  "${api[@]}" -X POST "$LOWKEY_VAULT_URL/management/vault" \
    -d "{\"baseUri\":\"$LOWKEY_VAULT_URL\",\"recoveryLevel\":\"Recoverable+Purgeable\",\"recoverableDays\":90}" >/dev/null
fi
echo "$LOWKEY_VAULT_URL"
