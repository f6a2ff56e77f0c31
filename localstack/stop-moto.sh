#!/usr/bin/env bash
# Stops the moto server started by start-moto.sh (its process group only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
stop_pidfile "$CACHE_DIR/moto.pid" moto
