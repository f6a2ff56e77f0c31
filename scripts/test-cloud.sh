#!/usr/bin/env bash
# The conformance and engine (behaviour) suites against a REAL secret service, reached by a
# store URL, e.g. the one a terraform/envs/*-test environment outputs. Then it deletes what
# the suites left under the prefix and asserts nothing is left.
#
#   scripts/test-cloud.sh --prefix P URL
#   scripts/test-cloud.sh --from-terraform terraform/envs/aws-test     # url + prefix outputs
#
# It refuses to run without an explicit prefix: --prefix must be given (or come from the
# env's `prefix` output, a variable without default there) and must equal the URL's prefix,
# so that every case works in <prefix><random namespace>… and never touches other secrets.
# Credentials are the service's usual ones (AWS profile/role, gcloud ADC, az login).
# CLOUD_TEST_THREADS (default 2) bounds concurrent cases (the services rate-limit writes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage() { sed -n '2,13p' "$0" >&2; exit 2; }
prefix="" url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:-}"; shift 2 ;;
    --from-terraform)
      env_dir="${2:?--from-terraform needs an env directory}"; shift 2
      tf="${TERRAFORM:-$ROOT/.cache/terraform/bin/terraform}"
      url="$("$tf" -chdir="$env_dir" output -raw url)"
      prefix="$("$tf" -chdir="$env_dir" output -raw prefix)" ;;
    -h|--help) usage ;;
    *) [ -z "$url" ] || usage; url="$1"; shift ;;
  esac
done
[ -n "$url" ] || { echo "test-cloud: no store URL given" >&2; usage; }
[ -n "$prefix" ] || { echo "test-cloud: refusing to run without an explicit --prefix" >&2; exit 2; }

scheme="${url%%://*}"
rest="${url#*://}"
path="${rest%%\?*}"
case "$scheme" in
  aws-secretsmanager) feature=aws; url_prefix="$path" ;;
  gcp-secretmanager) feature=gcp; url_prefix="${path#*/}"; [ "$url_prefix" != "$path" ] || url_prefix="" ;;
  azure-keyvault) feature=azure; url_prefix="${path#*/}"; [ "$url_prefix" != "$path" ] || url_prefix="" ;;
  *) echo "test-cloud: $scheme:// is not a cloud secret store URL" >&2; exit 2 ;;
esac
if [ -z "$url_prefix" ] || [ "$url_prefix" != "$prefix" ]; then
  echo "test-cloud: refusing: the URL's prefix ('$url_prefix') must be non-empty and equal --prefix ('$prefix')" >&2
  exit 2
fi

export TOKEN_STORE_CLOUD_URL="$url"
echo "test-cloud: $scheme, prefix '$prefix', feature $feature"
start=$SECONDS
status=0
cargo test -p token-store --features "$feature" --test cloud -- \
  --skip sweep_prefix --test-threads "${CLOUD_TEST_THREADS:-2}" || status=$?
echo "test-cloud: suites finished in $((SECONDS - start)) s (exit $status)"
TOKEN_STORE_CLOUD_SWEEP=1 cargo test -p token-store --features "$feature" --test cloud -- \
  --exact sweep_prefix --nocapture || status=$?
exit "$status"
