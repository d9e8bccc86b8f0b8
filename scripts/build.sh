#!/usr/bin/env bash
# Builds the package into dist/ (run by `npm pack` through `prepack`; `npm run build` by hand):
#  - dist/mod.js, dist/browser.js, dist/src/**: ESM JavaScript and .d.ts types, one file per source file
#    (tsc), for Node, Deno and bundlers, with zod as the only bare import at run time;
#  - dist/webdcp.browser.js: browser.ts bundled with zod into one file, for a page's <script type="module">
#    with no build step and no import map;
#  - dist/cli/: the `webdcp` command (bin/webdcp runs dist/cli/main.js), bundled so it loads few files and
#    resolves nothing from node_modules, split so each command's code loads only when that command runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rm -rf dist
node_modules/.bin/tsc -p tsconfig.build.json
# The API names WebGPU types (GPUDevice, GPUBuffer), which TypeScript's DOM lib lacks: each entry's types
# point at @webgpu/types, a dependency, so a consumer type-checks with no setup.
for entry in dist/mod.d.ts dist/browser.d.ts; do
  { echo '/// <reference types="@webgpu/types" />'; cat "$entry"; } >"$entry.tmp" && mv "$entry.tmp" "$entry"
done
deno="node_modules/.bin/deno"
"$deno" bundle --quiet --platform=browser --format=esm --output=dist/webdcp.browser.js browser.ts
"$deno" bundle --quiet --platform=deno --format=esm --code-splitting --outdir=dist/cli src/cli/main.ts
