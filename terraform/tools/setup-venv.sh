#!/usr/bin/env bash
# Creates (once, pinned, cached) a Python venv for the Terraform checks.
#   terraform/tools/setup-venv.sh tests     -> .cache/terraform/venv-tests   (python-hcl2, pytest)
#   terraform/tools/setup-venv.sh checkov   -> .cache/terraform/venv-checkov (checkov)
# A venv is rebuilt when its requirements (and constraints) file changes. Prints the venv path.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind="${1:?usage: setup-venv.sh tests|checkov}"
req="terraform/tools/requirements-$kind.txt"
constraints="terraform/tools/constraints-$kind.txt"
[ -f "$req" ] || { echo "no $req" >&2; exit 2; }
venv="$PWD/.cache/terraform/venv-$kind"
stamp_files=("$req")
[ -f "$constraints" ] && stamp_files+=("$constraints")
stamp_src="$(cat "${stamp_files[@]}" | sha256sum | cut -c1-16)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp_src" ]; then
  echo "$venv"; exit 0
fi
start=$(date +%s)
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
args=(-r "$req")
[ -f "$constraints" ] && args+=(-c "$constraints")
"$venv/bin/pip" install --quiet --disable-pip-version-check "${args[@]}" >&2
echo "$stamp_src" >"$venv/.stamp"
echo "setup-venv: $kind venv built in $(( $(date +%s) - start )) s" >&2
echo "$venv"
