#!/usr/bin/env bash
# Installs LocalStack (host mode, no Docker) into .cache/localstack/venv at the pinned versions. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$CACHE_DIR"
make_venv "$CACHE_DIR/venv" "$CACHE_DIR/venv.stamp" "${LOCALSTACK_PINS[@]}"
echo "localstack installed: $("$CACHE_DIR/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))')"
