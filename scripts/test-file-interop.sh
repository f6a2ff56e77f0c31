#!/usr/bin/env bash
# Tests of crates/token-store-file: the conformance suite and the file-behaviour tests, plus the
# interop with the real Zoho Python SDK's FileStore (zohocrmsdk8-0). Installs the pinned SDK
# into the shared venv <repo>/.cache/zoho-py (interop/zoho-db/setup-venv.sh: python3 -m venv,
# zohocrmsdk8-0 and mysql-connector-python at fixed versions) and FAILS when it cannot.
# Runnable from any directory, idempotent.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

ZOHO_PY="$("$REPO/interop/zoho-db/setup-venv.sh")"
if [ ! -x "$ZOHO_PY" ]; then
  echo "test-file-interop: the Zoho Python SDK venv could not be set up" >&2
  exit 1
fi
export ZOHO_PY

cargo test -p token-store-file --features interop-tests
