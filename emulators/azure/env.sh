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

# --- The Key Vault double (keyvault_double.py) and the recorded real traffic ---
# Pinned Python packages of the double's venv: cryptography makes its certificate at start,
# PyYAML reads the recordings.
DOUBLE_CRYPTOGRAPHY_VERSION="46.0.3"
DOUBLE_PYYAML_VERSION="6.0.3"
DOUBLE_VENV="$AZURE_CACHE/venv"
DOUBLE_PORT="${AZURE_DOUBLE_PORT:-8543}"
DOUBLE_URL="https://localhost:$DOUBLE_PORT"
DOUBLE_CA="$AZURE_CACHE/double-cert.pem"
DOUBLE_PID="$AZURE_CACHE/double.pid"
DOUBLE_LOG="$AZURE_CACHE/double.log"
# Seconds a deleted secret stays "being deleted" (and a recovered one "being recovered").
DOUBLE_DELETE_DELAY="${AZURE_DOUBLE_DELETE_DELAY:-0.3}"
# The PyPI source distribution holding 26 recordings of real Key Vault traffic (api-version 7.0).
RECORDINGS_SDIST="azure-keyvault-secrets-4.0.0.zip"
RECORDINGS_SHA256="97a602406a833e8f117c540c66059c818f4321a35168dd17365fab1e4527d718"
RECORDINGS_DIR="$AZURE_CACHE/recordings"
