#!/usr/bin/env bash
# Prints the path of a Python virtualenv holding the pinned interop peers, creating it on first use.
# The venv lives outside the repo, keyed by the hash of requirements.txt, so repeat runs reuse it
# while a fresh machine (CI) installs it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements.txt"
key="$(sha256sum "$req" | cut -c1-16)"
root="${WEBDCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webdcp}"
venv="$root/venv-$key"
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  mkdir -p "$root"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv"
