#!/usr/bin/env bash
# Installs the real peers the tests run against, when they are missing:
# - Debian's slurmctld, slurmd, slurm-client and munge (a real one-node Slurm for the scale-out suite);
# - Debian's chromium (headless browser; its SwiftShader Vulkan ICD gives Dawn a WebGPU adapter) and Mesa's
#   Vulkan drivers (lavapipe, for Deno's wgpu);
# - the pinned Python virtualenv with real torch, safetensors, torchtitan and transformers (test/interop/venv.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=()
[ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || need_apt+=(chromium)
[ -n "$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null)" ] || need_apt+=(mesa-vulkan-drivers)
# A one-node Slurm cluster for the scale-out suite (test/storage/s3/slurm.test.ts starts it).
for p in slurmctld slurmd slurm-client munge; do dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup-peers: installing ${need_apt[*]} from Debian" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
  else
    echo "setup-peers: missing ${need_apt[*]}; install them with apt-get (needs root)" >&2
    exit 1
  fi
fi

bash test/interop/venv.sh >/dev/null
