#!/usr/bin/env bash
# Prints the path of a bench-only virtualenv holding the pinned `awscli` (the plain-copy baseline of
# bench/s3.bench.ts), creating it on first use. awscli pins botocore exactly, which clashes with the interop
# venv's aiobotocore (s3fs), so it lives apart, made the same way as the interop venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../../test/interop/venv.sh" "$here/requirements-awscli.txt" awscli
