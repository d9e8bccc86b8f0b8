#!/usr/bin/env bash
# Prints the path of a Python virtualenv holding pinned packages, creating it on first use: by default the
# interop peers (requirements.txt here); `venv.sh REQUIREMENTS NAME` makes another one (the bench's awscli).
# The venv lives outside the repo, keyed by the hash of its requirements file, so repeat runs reuse it
# while a fresh machine (CI) installs it. Concurrent callers (parallel test suites) wait on one lock
# instead of building the same venv twice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="${1:-$here/requirements.txt}"
name="${2:-}"
key="$(sha256sum "$req" | cut -c1-16)"
root="${WEBDCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webdcp}"
venv="$root/venv-${name:+$name-}$key"
mkdir -p "$root"
exec 9>"$root/.lock-${name:+$name-}$key"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv"
