#!/usr/bin/env bash
# Create the Key Vault double's venv in .cache/azure/venv with its pinned packages
# (idempotent).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$AZURE_CACHE"
want="cryptography==$DOUBLE_CRYPTOGRAPHY_VERSION pyyaml==$DOUBLE_PYYAML_VERSION"
if [ "$(cat "$DOUBLE_VENV/.pins" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
rm -rf "$DOUBLE_VENV"
python3 -m venv "$DOUBLE_VENV"
# shellcheck disable=SC2086 # $want is a list of requirements
"$DOUBLE_VENV/bin/pip" install --quiet --disable-pip-version-check $want
echo "$want" >"$DOUBLE_VENV/.pins"
echo "Key Vault double venv ready ($want)" >&2
