#!/usr/bin/env bash
# Builds the benchmarks' SeaweedFS (`weed`, Apache-2.0), a production S3-compatible object store, from the
# pinned module on the Go module proxy (bench only: no test or CI needs Go), and prints the binary's path.
# The module's go.mod has replace directives, so `go install pkg@version` refuses it: the module's source is
# downloaded and built as the main module. Cached under ~/.cache/webdcp/ by version: built once (a few minutes).
set -euo pipefail
version="v0.0.0-20261109003541-7506e5f91cd6"
out="${XDG_CACHE_HOME:-$HOME/.cache}/webdcp/seaweedfs-$version"
if [[ ! -x "$out" ]]; then
  mkdir -p "$(dirname "$out")"
  src="$(go mod download -json "github.com/seaweedfs/seaweedfs@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$src/." "$work"
  chmod -R u+w "$work"
  (cd "$work" && go build -trimpath -o "$out.tmp" ./weed) >&2
  mv "$out.tmp" "$out"
fi
echo "$out"
