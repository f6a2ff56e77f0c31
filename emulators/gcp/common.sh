# Shared paths and per-emulator settings for install.sh / start.sh / stop.sh (sourced).
GCP_EMU_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$GCP_EMU_DIR/../.." && pwd)"
CACHE="$REPO_ROOT/.cache/gcp"
# shellcheck source=versions.env
. "$GCP_EMU_DIR/versions.env"

# The port each emulator listens on (127.0.0.1).
emulator_port() {
  case "$1" in
    drongo) echo "${GCP_DRONGO_PORT:-8086}" ;;
    gsm) echo "${GCP_GSM_PORT:-8085}" ;;
    blackwell) echo "${GCP_BLACKWELL_PORT:-8087}" ;;
    *) echo "unknown GCP emulator '$1' (drongo, gsm, blackwell)" >&2; return 1 ;;
  esac
}

# The health URL start.sh waits on.
emulator_health_url() {
  local port; port="$(emulator_port "$1")"
  case "$1" in
    drongo) echo "http://127.0.0.1:$port/drongo/health" ;;
    gsm) echo "http://127.0.0.1:$port/health" ;;
    blackwell) echo "http://127.0.0.1:$port/health" ;;
  esac
}

# The installed program of a Go emulator.
emulator_binary() {
  case "$1" in
    gsm) echo "$CACHE/bin/gsm-server" ;;
    blackwell) echo "$CACHE/bin/server-rest" ;;
  esac
}
