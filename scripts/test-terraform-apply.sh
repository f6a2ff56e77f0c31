#!/usr/bin/env bash
# The real apply, run by hand (not in CI): Terraform 1.5.7 applies terraform/envs/<target>
# (the AWS module) to LocalStack or moto on 127.0.0.1, the conformance and engine suites run
# on the URL it outputs (scripts/test-cloud.sh, with sentinel secrets just outside the prefix
# that must stay untouched), then destroy, then a check that nothing of the store is left in
# the emulator. Each phase is timed.
#
#   AWS_PROVIDER_VERSION=<pseudo-version> scripts/test-terraform-apply.sh [localstack|moto]...
#   AWS_PROVIDER_BIN=/path/to/terraform-provider-aws scripts/test-terraform-apply.sh moto
#
# The AWS provider is not on any registry reachable here; it is built from the Go module
# proxy (github.com/hashicorp/terraform-provider-aws at a pseudo-version of its main branch;
# once measured: 49 min on 2 loaded cores, a 1.3 GB binary, ~12 GB of modules and build
# cache), or taken ready-built from AWS_PROVIDER_BIN. Terraform finds it through
# `init -plugin-dir` (an unpacked mirror labelled AWS_PROVIDER_LABEL, default 6.99.0, which
# satisfies the modules' ">= 5.40.0, < 7.0.0").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGETS=("${@:-localstack}")
CACHE="$ROOT/.cache/terraform"
LABEL="${AWS_PROVIDER_LABEL:-6.99.0}"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
phase() { echo "=== $1 ($(( SECONDS - phase_start )) s)"; phase_start=$SECONDS; }
phase_start=$SECONDS

tf="$(terraform/tools/install-terraform.sh)"
phase "Terraform 1.5.7 ready"

provider="${AWS_PROVIDER_BIN:-}"
if [ -z "$provider" ]; then
  : "${AWS_PROVIDER_VERSION:?set AWS_PROVIDER_VERSION (go list -m github.com/hashicorp/terraform-provider-aws@main) or AWS_PROVIDER_BIN}"
  provider="$CACHE/provider-bin/terraform-provider-aws"
  if [ ! -x "$provider" ] || [ "$(cat "$CACHE/provider-bin/version" 2>/dev/null)" != "$AWS_PROVIDER_VERSION" ]; then
    mkdir -p "$CACHE/provider-bin"
    GOBIN="$CACHE/provider-bin" GOFLAGS=-buildvcs=false \
      go install "github.com/hashicorp/terraform-provider-aws@$AWS_PROVIDER_VERSION"
    echo "$AWS_PROVIDER_VERSION" >"$CACHE/provider-bin/version"
  fi
  phase "AWS provider $AWS_PROVIDER_VERSION built ($(du -h "$provider" | cut -f1))"
fi
plugins="$CACHE/plugins"
platform_dir="$plugins/registry.terraform.io/hashicorp/aws/$LABEL/linux_amd64"
mkdir -p "$platform_dir"
ln -sf "$provider" "$platform_dir/terraform-provider-aws_v$LABEL"

started=()
cleanup() { for t in "${started[@]}"; do "localstack/stop-$t.sh" || true; done; }
trap cleanup EXIT

status=0
for target in "${TARGETS[@]}"; do
  case "$target" in
    localstack) port="${LOCALSTACK_PORT:-4566}"; LOCALSTACK_SERVICES=secretsmanager,kms,iam,sts localstack/start-localstack.sh ;;
    moto) port="${MOTO_PORT:-5000}"; localstack/start-moto.sh ;;
    *) echo "unknown target $target (localstack or moto)" >&2; exit 2 ;;
  esac
  started+=("$target")
  endpoint="http://127.0.0.1:$port"
  run_dir="$CACHE/run-$target"
  rm -rf "$run_dir"; mkdir -p "$run_dir"
  export TF_DATA_DIR="$run_dir/data"
  state="$run_dir/terraform.tfstate"
  env_dir="terraform/envs/$target"
  prefix="tf-apply/$(date +%s)-$RANDOM/"
  vars=(-var "endpoint=$endpoint" -var "prefix=$prefix")
  phase "$target started on $endpoint"

  "$tf" -chdir="$env_dir" init -input=false -backend=false -plugin-dir="$plugins" -lockfile=readonly 2>/dev/null ||
    "$tf" -chdir="$env_dir" init -input=false -backend=false -plugin-dir="$plugins"
  phase "$target: init"
  "$tf" -chdir="$env_dir" apply -input=false -auto-approve -state="$state" "${vars[@]}"
  phase "$target: apply"
  url="$("$tf" -chdir="$env_dir" output -state="$state" -raw url)"
  key_arn="$("$tf" -chdir="$env_dir" output -state="$state" -raw kms_key_arn)"
  echo "store URL: $url"
  py=.cache/localstack/moto-venv/bin/python
  "$py" terraform/tools/sentinels.py create "$endpoint" "$prefix"
  scripts/test-cloud.sh --prefix "$prefix" "$url" || status=1
  "$py" terraform/tools/sentinels.py check "$endpoint" "$prefix" || status=1
  phase "$target: suites on the applied store"
  "$tf" -chdir="$env_dir" destroy -input=false -auto-approve -state="$state" "${vars[@]}" || status=1
  phase "$target: destroy"
  "$py" terraform/tools/check-nothing-left.py \
    "$endpoint" "$prefix" "token-store-$target" "$key_arn" || status=1
  phase "$target: nothing-left check"
done
exit "$status"
