#!/usr/bin/env bash
# The whole test suite, on a fresh machine: builds everything, installs and starts every
# emulator and server it needs (pinned, cached under .cache/), runs every test, stops them.
# Exits non-zero if any step fails; a backend that cannot be installed or reached fails.
set -uo pipefail
cd "$(dirname "$0")/.."

steps=(
  "workspace tests (memory, engine, file, sqlite, unit tests)|cargo test --workspace --all-targets"
  "quickstart, the README's first command|cargo run --example quickstart"
  "facade with every backend feature|cargo test -p token-store --all-features"
  "clippy -D warnings|cargo clippy --workspace --all-targets --all-features -- -D warnings"
  "Zoho Python SDK FileStore interop|scripts/test-file-interop.sh"
  "SQLite + MariaDB + Zoho DBStore interop|scripts/test-sql.sh"
  "AWS Secrets Manager on LocalStack and moto|scripts/test-aws.sh"
  "GCP Secret Manager on its emulators|scripts/test-gcp.sh"
  "token-store CLI end to end on MariaDB, LocalStack and drongo|scripts/test-cli.sh"
  "TokenManager: Lambda under the runtime emulator (LocalStack), HTTP handler (drongo, file, SQLite)|scripts/test-oauth.sh"
  "Terraform modules: fmt, policy tests, checkov; test-cloud.sh on moto (the emulator apply is scripts/test-terraform-apply.sh, by hand)|scripts/test-terraform.sh"
  "Azure Key Vault: recorded real traffic, the Key Vault double checked against it, every suite on the double|scripts/test-azure.sh"
)

# Install the emulators, servers and the Zoho SDK in the background while the workspace
# builds; each installer is idempotent and pinned, and the test scripts re-check them.
mkdir -p .cache
prefetch_log=.cache/prefetch.log
: >"$prefetch_log"
prefetch_pids=()
for installer in localstack/install-localstack.sh localstack/install-moto.sh "emulators/gcp/install.sh drongo" \
                 emulators/azure/fetch-recordings.sh emulators/mariadb/install.sh interop/zoho-db/setup-venv.sh \
                 emulators/lambda-rie/install.sh terraform/tools/install-terraform.sh \
                 "terraform/tools/setup-venv.sh tests" "terraform/tools/setup-venv.sh checkov"; do
  # shellcheck disable=SC2086 # "script arg" splits into the script and its argument
  ( bash $installer >>"$prefetch_log" 2>&1 || echo "prefetch: $installer failed (its test step will retry and report)" >>"$prefetch_log" ) &
  prefetch_pids+=($!)
done

passed=0
failed=0
failures=()
step_number=0
for step in "${steps[@]}"; do
  step_number=$((step_number + 1))
  if [ "$step_number" -eq 5 ] && [ "${#prefetch_pids[@]}" -gt 0 ]; then
    echo "==== waiting for the background installs"
    wait "${prefetch_pids[@]}" || true
    cat "$prefetch_log" | tail -n 20
  fi
  name="${step%%|*}"
  command="${step#*|}"
  echo
  echo "==== ${name}: ${command}"
  start=$(date +%s)
  if bash -c "${command}"; then
    passed=$((passed + 1))
    echo "==== ok: ${name} ($(( $(date +%s) - start )) s)"
  else
    failed=$((failed + 1))
    failures+=("${name}")
    echo "==== FAILED: ${name} ($(( $(date +%s) - start )) s)"
  fi
done

echo
for f in "${failures[@]}"; do echo "failed step: $f"; done
echo "test steps: ${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
