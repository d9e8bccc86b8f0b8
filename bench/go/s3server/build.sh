#!/usr/bin/env bash
# Builds the benchmarks' gofakes3 S3 server (bench only: no test or CI needs Go) and prints the binary's path.
# The binary is cached under ~/.cache/webdcp/, keyed by the hash of this folder's sources, so it is built once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
key="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
out="${XDG_CACHE_HOME:-$HOME/.cache}/webdcp/s3server-$key"
if [[ ! -x "$out" ]]; then
  mkdir -p "$(dirname "$out")"
  go build -trimpath -o "$out.tmp" . >&2
  mv "$out.tmp" "$out"
fi
echo "$out"
