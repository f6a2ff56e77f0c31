#!/usr/bin/env bash
# Builds OpenTofu 1.12.6 from the Go module proxy into .cache/terraform/tofu-bin (pinned,
# idempotent), for checking the modules with OpenTofu by hand (`tofu fmt -check`, `tofu
# validate` with a provider from -plugin-dir). Not in CI: about 9 minutes of build.
# `go install …@v1.12.6` is refused because opentofu's go.mod has a replace directive, so a
# throw-away wrapper module repeats that directive and builds the command. Prints the path.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=1.12.6
export TF_CLI_CONFIG_FILE=/dev/null TOFU_CLI_CONFIG_FILE=/dev/null
dir="$PWD/.cache/terraform"
binary="$dir/tofu-bin/tofu"
if [ -x "$binary" ] && "$binary" version | head -n1 | grep -q "^OpenTofu v${version}"; then
  echo "$binary"; exit 0
fi
mkdir -p "$dir/tofu-src" "$dir/tofu-bin"
cd "$dir/tofu-src"
cat >go.mod <<MOD
module tofubuild

go 1.26

require github.com/opentofu/opentofu v${version}

replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
MOD
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/opentofu/opentofu/cmd/tofu"\n' >tools.go
export GOFLAGS="-buildvcs=false -mod=mod"
go mod tidy >&2
go build -o "$binary" github.com/opentofu/opentofu/cmd/tofu >&2
echo "$binary"
