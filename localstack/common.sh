#!/usr/bin/env bash
# Shared paths and helpers for the LocalStack / moto scripts. Sourced, not run.
LS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LS_DIR/.." && pwd)"
CACHE_DIR="$REPO_ROOT/.cache/localstack"

# Pinned versions (see NOTES.md for why these pins).
LOCALSTACK_PINS=(
  "localstack-core[runtime]==4.10.0"
  "cbor2==5.6.5"
  "pyopenssl==24.2.1"
  "cryptography==43.0.3"
  "service_identity==24.1.0"
  "psutil==7.0.0"
)
MOTO_PINS=("moto[server]==5.2.5")

# Picks a Python 3.11 interpreter (LocalStack 4.10 supports 3.11 best).
pick_python() {
  local c
  for c in "${PYTHON:-}" python3.11 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  echo "no Python 3.11 interpreter found (set PYTHON=...)" >&2
  return 1
}

# make_venv DIR STAMP PINS...: creates DIR as a venv with PINS unless STAMP says it is done already.
make_venv() {
  local dir="$1" stamp="$2"; shift 2
  local want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  local py; py="$(pick_python)"
  rm -rf "$dir"
  "$py" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$want" > "$stamp"
}

# wait_http URL SECONDS PIDFILE NAME: polls URL until it answers 200, fails if the process dies or time runs out.
wait_http() {
  local url="$1" secs="$2" pidfile="$3" name="$4" i
  for ((i = 0; i < secs * 4; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$name exited during startup; see its log" >&2; return 1
    fi
    sleep 0.25
  done
  echo "$name did not answer $url within ${secs}s" >&2
  return 1
}

# stop_pidfile PIDFILE NAME: ends the process group led by the pid in PIDFILE (started with setsid).
stop_pidfile() {
  local pidfile="$1" name="$2" pid i
  [ -f "$pidfile" ] || { echo "$name: not running"; return 0; }
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "$name stopped"
  fi
  rm -f "$pidfile"
}
