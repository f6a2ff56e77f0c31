#!/usr/bin/env bash
# Stops the LocalStack started by start-localstack.sh (its process group only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
stop_pidfile "$CACHE_DIR/localstack.pid" localstack
