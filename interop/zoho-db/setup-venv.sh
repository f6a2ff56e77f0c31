#!/usr/bin/env bash
# Create (once) the shared Python venv <repo>/.cache/zoho-py with the pinned Zoho CRM SDK and
# MySQL driver, and print its python path. Idempotent and safe to run concurrently (flock):
# the file-store interop uses the same venv and the same pins.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.cache/zoho-py"
ZOHO_SDK_PIN="zohocrmsdk8-0==7.0.0"
MYSQL_CONNECTOR_PIN="mysql-connector-python==26.10.0"
mkdir -p "$REPO/.cache"
exec 9>"$REPO/.cache/zoho-py.lock"
flock 9
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
installed() {
  "$VENV/bin/python" - "$ZOHO_SDK_PIN" "$MYSQL_CONNECTOR_PIN" <<'PY'
import importlib.metadata as md, sys
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        if md.version(name) != version:
            sys.exit(1)
    except md.PackageNotFoundError:
        sys.exit(1)
PY
}
if ! installed; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$ZOHO_SDK_PIN" "$MYSQL_CONNECTOR_PIN" >&2
fi
# Fail (never skip) when the SDK or the driver cannot be imported.
"$VENV/bin/python" -c "import zohocrmsdk, mysql.connector" >&2
echo "$VENV/bin/python"
