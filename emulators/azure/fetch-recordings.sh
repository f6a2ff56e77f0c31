#!/usr/bin/env bash
# Download the pinned azure-keyvault-secrets 4.0.0 source distribution from PyPI (sha256
# checked, cached in .cache/azure/), and convert its tests/recordings/*.yaml (real Key Vault
# traffic, api-version 7.0) to JSON in $RECORDINGS_DIR for the Rust replay test. Idempotent;
# nothing of it is committed. Prints $RECORDINGS_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$AZURE_EMU_DIR/install-double.sh"
sdist="$AZURE_CACHE/$RECORDINGS_SDIST"
if [ ! -s "$sdist" ]; then
  "$DOUBLE_VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: azure-keyvault-secrets==4.0.0 -d "$AZURE_CACHE" >&2
fi
if ! echo "$RECORDINGS_SHA256  $sdist" | sha256sum -c --quiet -; then
  echo "FAIL: $sdist does not have the pinned sha256 $RECORDINGS_SHA256" >&2
  rm -f "$sdist"
  exit 1
fi
if [ ! -s "$RECORDINGS_DIR/.done" ]; then
  rm -rf "$RECORDINGS_DIR"
  mkdir -p "$RECORDINGS_DIR"
  "$DOUBLE_VENV/bin/python" "$AZURE_EMU_DIR/recordings_to_json.py" "$sdist" "$RECORDINGS_DIR" >&2
  echo ok >"$RECORDINGS_DIR/.done"
fi
echo "$RECORDINGS_DIR"
