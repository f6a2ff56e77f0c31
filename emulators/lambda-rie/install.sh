#!/usr/bin/env bash
# Install the AWS Lambda Runtime Interface Emulator (pinned; the module has no tagged release,
# this is the pseudo-version the Go module proxy served as @latest on 2026-11-29) into
# .cache/rie/. Idempotent: prints the binary's path.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="v0.0.0-20261030222936-bef5c4ba774d"
DIR="$ROOT/.cache/rie"
BIN="$DIR/aws-lambda-rie"
if [ -x "$BIN" ] && [ "$(cat "$DIR/version" 2>/dev/null)" = "$VERSION" ]; then
  echo "$BIN"; exit 0
fi
command -v go >/dev/null || { echo "aws-lambda-rie needs Go (go install)" >&2; exit 1; }
mkdir -p "$DIR"
GOBIN="$DIR" GOFLAGS=-mod=mod go install \
  "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$VERSION" >&2
echo "$VERSION" > "$DIR/version"
echo "$BIN"
