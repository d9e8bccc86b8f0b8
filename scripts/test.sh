#!/usr/bin/env bash
# The project's test command (`npm test`): installs missing peers, typechecks under Deno, runs the vitest
# suites under Node (real torch, Dawn/SwiftShader WebGPU) and the Deno suites (Deno's own runtime and WebGPU),
# then prints one closing line with the totals.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-peers.sh

export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
export WEBDCP_REQUIRE_GPU=1
mkdir -p "${XDG_RUNTIME_DIR:=/tmp/webdcp-xdg-$(id -u)}" && chmod 700 "$XDG_RUNTIME_DIR" && export XDG_RUNTIME_DIR

echo "== deno check, deno lint, deno fmt --check, deno doc --lint, import directions"
npx deno task check
npx deno lint --quiet src mod.ts examples bench scripts
npx deno fmt --check --quiet
npx deno doc --lint mod.ts
# Module examples under Deno; a WebGPU adapter there is Vulkan's (lavapipe or SwiftShader), as for the Deno suites below.
DENO_WEBGPU_BACKEND=vulkan npx deno test --doc --quiet --allow-read --allow-write mod.ts $(ls src/*/mod.ts src/storage/*/mod.ts)
npx deno task -q check-layers

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== demo (the README's main job)"
npx deno task demo >"$out/demo.txt" 2>&1 || { cat "$out/demo.txt"; echo "the demo failed"; exit 1; }
tail -n 1 "$out/demo.txt"

echo "== vitest (Node)"
set +e
npx vitest run --reporter=default --reporter=json --outputFile="$out/vitest.json"
vitest_rc=$?
# Deno's wgpu on Mesa's Vulkan llvmpipe (lavapipe), its default backend here. Its GL backend passes the same
# tests but Mesa's GL teardown corrupted the heap at process exit in ~1 of 30 runs under load.
echo "== deno test (Deno)"
DENO_WEBGPU_BACKEND=vulkan npx deno test -A --reporter=pretty test/deno/ 2>&1 | tee "$out/deno.txt"
deno_rc=${PIPESTATUS[0]}
set -e

node -e '
const fs = require("fs");
const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const d = fs.readFileSync(process.argv[2], "utf8").replace(/\x1b\[[0-9;]*m/g, "");
const m = d.match(/(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
const dp = m ? +m[2] : 0, df = m ? +m[3] : 0;
const passed = v.numPassedTests + dp, failed = v.numFailedTests + df, skipped = v.numPendingTests + v.numTodoTests;
console.log(`webdcp tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$out/vitest.json" "$out/deno.txt"

[ "$vitest_rc" = 0 ] && [ "$deno_rc" = 0 ]
