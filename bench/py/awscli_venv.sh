#!/usr/bin/env bash
# Prints the path of a bench-only virtualenv holding the pinned `awscli` (the plain-copy baseline of
# bench/s3.bench.ts), creating it on first use. awscli pins botocore exactly, which clashes with the interop
# venv's aiobotocore (s3fs), so it lives apart: same cache root as test/interop/venv.sh, keyed by the hash
# of requirements-awscli.txt, one lock against concurrent builders.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements-awscli.txt"
key="$(sha256sum "$req" | cut -c1-16)"
root="${WEBDCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webdcp}"
venv="$root/venv-awscli-$key"
mkdir -p "$root"
exec 9>"$root/.lock-awscli-$key"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv"
