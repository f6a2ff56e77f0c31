#!/usr/bin/env bash
# Installs moto server into .cache/localstack/moto-venv at the pinned version. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$CACHE_DIR"
make_venv "$CACHE_DIR/moto-venv" "$CACHE_DIR/moto-venv.stamp" "${MOTO_PINS[@]}"
echo "moto installed: $("$CACHE_DIR/moto-venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))')"
