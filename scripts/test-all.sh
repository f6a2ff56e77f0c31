#!/usr/bin/env bash
# The whole test suite, on a fresh machine: builds everything, installs and starts every
# emulator and server it needs (pinned, cached under .cache/), runs every test, stops them.
# Exits non-zero if any step fails; a backend that cannot be installed or reached fails.
set -uo pipefail
cd "$(dirname "$0")/.."

steps=(
  "workspace tests (memory, engine, file, sqlite, unit tests)|cargo test --workspace --all-targets"
  "facade with every backend feature|cargo test -p token-store --all-features"
  "clippy -D warnings|cargo clippy --workspace --all-targets --all-features -- -D warnings"
  "Zoho Python SDK FileStore interop|scripts/test-file-interop.sh"
  "SQLite + MariaDB + Zoho DBStore interop|scripts/test-sql.sh"
  "AWS Secrets Manager on LocalStack and moto|scripts/test-aws.sh"
  "GCP Secret Manager on its emulators|scripts/test-gcp.sh"
  "Azure Key Vault on Lowkey Vault|scripts/test-azure.sh"
)

passed=0
failed=0
failures=()
for step in "${steps[@]}"; do
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
