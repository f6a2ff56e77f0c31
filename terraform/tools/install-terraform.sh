#!/usr/bin/env bash
# Installs Terraform 1.5.7 (the last MPL-licensed release) from the Go module proxy into
# .cache/terraform/bin, pinned and idempotent. Prints the binary's path on success.
# The Terraform registry and release downloads are not reachable here; the Go proxy is.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=1.5.7
# No user CLI configuration: a missing file named by the environment only prints warnings.
export TF_CLI_CONFIG_FILE=/dev/null
bin_dir="$PWD/.cache/terraform/bin"
binary="$bin_dir/terraform"
if [ -x "$binary" ] && "$binary" version 2>/dev/null | head -n1 | grep -qx "Terraform v${version}"; then
  echo "$binary"
  exit 0
fi
mkdir -p "$bin_dir"
start=$(date +%s)
GOBIN="$bin_dir" GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@v${version}" >&2
"$binary" version | head -n1 | grep -qx "Terraform v${version}"
echo "install-terraform: Terraform v${version} built in $(( $(date +%s) - start )) s" >&2
echo "$binary"
