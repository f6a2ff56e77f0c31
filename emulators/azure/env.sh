# Shared settings of the Lowkey Vault scripts (sourced, not run).
# shellcheck shell=bash
AZURE_EMU_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$AZURE_EMU_DIR/../.." && pwd)"
# Pinned Lowkey Vault release (Maven: com.github.nagyesta.lowkey-vault:lowkey-vault-app).
LOWKEY_VERSION="${LOWKEY_VERSION:-7.3.74}"
LOWKEY_ARTIFACT="com.github.nagyesta.lowkey-vault:lowkey-vault-app:$LOWKEY_VERSION:jar"
AZURE_CACHE="$REPO/.cache/azure"
LOWKEY_JAR="$AZURE_CACHE/lowkey-vault-app-$LOWKEY_VERSION.jar"
# The app is built for Java 25.
LOWKEY_JAVA_HOME="${LOWKEY_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
LOWKEY_PORT="${LOWKEY_PORT:-8443}"          # HTTPS: Key Vault API + /management
LOWKEY_TOKEN_PORT="${LOWKEY_TOKEN_PORT:-8080}" # HTTP: /ping, token endpoint, default cert
LOWKEY_VAULT_URL="https://localhost:$LOWKEY_PORT"
LOWKEY_CA="$AZURE_CACHE/lowkey-vault.pem"
LOWKEY_PID="$AZURE_CACHE/lowkey.pid"
LOWKEY_LOG="$AZURE_CACHE/lowkey.log"
