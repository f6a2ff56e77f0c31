#!/usr/bin/env bash
# Static checks of terraform/ (no cloud, no provider needed), each timed:
#   1. Terraform 1.5.7 from the Go module proxy (pinned, cached in .cache/terraform/bin)
#   2. terraform fmt -check -recursive
#   3. policy tests on the parsed HCL (python-hcl2 + pytest, pinned venv): IAM actions equal
#      the AWS backend's calls (derived from its Rust source), prefix-scoped resources, KMS
#      rotation, Key Vault RBAC + purge protection, the GCP condition on the prefix
#   4. checkov --skip-download (pinned venv), skips justified inline
#   5. the refusal of a prefix-less URL by tests/cloud.rs (what scripts/test-cloud.sh runs)
#   6. scripts/test-cloud.sh itself on moto: the suites on a store URL of the form the AWS
#      module outputs, the sweep of the prefix, and sentinel secrets just outside the prefix
#      that must stay untouched
# The real apply against an emulator needs a provider build too large for CI: see
# scripts/test-terraform-apply.sh and terraform/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

passed=0
failed=0
run() {
  local name="$1"; shift
  local start=$SECONDS
  echo "--- terraform check: $name"
  if "$@"; then
    passed=$((passed + 1)); echo "--- ok: $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); echo "--- FAILED: $name ($((SECONDS - start)) s)"
  fi
}

terraform_bin=""
install_terraform() { terraform_bin="$(terraform/tools/install-terraform.sh)"; }
fmt_check() { [ -n "$terraform_bin" ] && "$terraform_bin" fmt -check -recursive -diff terraform; }
policy_tests() {
  local venv
  venv="$(terraform/tools/setup-venv.sh tests)" || return 1
  "$venv/bin/python" -m pytest -q -p no:cacheprovider terraform/tests
}
checkov_scan() {
  local venv
  venv="$(terraform/tools/setup-venv.sh checkov)" || return 1
  "$venv/bin/checkov" -d terraform --framework terraform --skip-download --compact --quiet
}
cloud_url_guard() {
  cargo test -q -p token-store --test cloud -- --exact \
    urls_without_a_prefix_are_refused namespaces_stay_under_the_prefix
}

test_cloud_on_moto() {
  local port="${MOTO_PORT:-5000}" prefix="tf-ci/$(date +%s)-$RANDOM/" status=0
  local endpoint="http://127.0.0.1:$port" py=.cache/localstack/moto-venv/bin/python
  localstack/start-moto.sh || return 1
  (
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    unset AWS_PROFILE AWS_SESSION_TOKEN
    "$py" terraform/tools/sentinels.py create "$endpoint" "$prefix" &&
      scripts/test-cloud.sh --prefix "$prefix" \
        "aws-secretsmanager://${prefix}?region=us-east-1&endpoint=http%3A%2F%2F127.0.0.1%3A${port}" &&
      "$py" terraform/tools/sentinels.py check "$endpoint" "$prefix"
  ) || status=1
  localstack/stop-moto.sh || true
  return "$status"
}

run "Terraform 1.5.7 (go install, cached)" install_terraform
run "terraform fmt -check -recursive" fmt_check
run "policy tests (python-hcl2 + pytest)" policy_tests
run "checkov --skip-download" checkov_scan
run "tests/cloud.rs refuses prefix-less URLs" cloud_url_guard
run "scripts/test-cloud.sh on moto (suites, sweep, sentinels)" test_cloud_on_moto

echo "terraform checks: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
