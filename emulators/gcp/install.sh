#!/usr/bin/env bash
# Install a GCP Secret Manager emulator at its pinned version into .cache/gcp/ (idempotent).
# Usage: emulators/gcp/install.sh drongo|gsm|blackwell
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
name="${1:?usage: install.sh drongo|gsm|blackwell}"
emulator_port "$name" >/dev/null
mkdir -p "$CACHE/bin"

install_go() { # module path, version, package inside the module, installed name
  local module="$1" version="$2" package="$3" target="$4"
  [ -x "$target" ] && return 0
  if [ -n "${GCP_EMULATOR_BIN_DIR:-}" ] && [ -x "$GCP_EMULATOR_BIN_DIR/$(basename "$target")" ]; then
    cp "$GCP_EMULATOR_BIN_DIR/$(basename "$target")" "$target"
    echo "installed $(basename "$target") from GCP_EMULATOR_BIN_DIR"
    return 0
  fi
  local tmp; tmp="$(mktemp -d)"
  if (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "$module$package@$version"); then
    mv "$tmp/$(basename "$package")" "$target"
    rm -rf "$tmp"
  else
    rm -rf "$tmp"
    echo "ERROR: go install $module$package@$version failed (see NOTES.md: the Go module proxy" >&2
    echo "       refuses this module here). Put a built binary named $(basename "$target") in" >&2
    echo "       GCP_EMULATOR_BIN_DIR to use it." >&2
    return 1
  fi
}

case "$name" in
  drongo)
    venv="$CACHE/venv"
    if ! "$venv/bin/python" -c "import drongo, sys; sys.exit(drongo.__version__ != '$DRONGO_VERSION')" 2>/dev/null; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet --disable-pip-version-check "drongo==$DRONGO_VERSION"
    fi
    ;;
  gsm) install_go "$GSM_MODULE" "$GSM_VERSION" /cmd/server "$(emulator_binary gsm)" ;;
  blackwell) install_go "$BLACKWELL_MODULE" "$BLACKWELL_VERSION" /cmd/server-rest "$(emulator_binary blackwell)" ;;
esac
echo "GCP emulator $name installed"
