#!/usr/bin/env bash
# Builds the package into dist/ (run by `npm pack` through `prepack`; `npm run build` by hand):
#  - dist/mod.js, dist/browser.js, dist/src/**: ESM JavaScript and .d.ts types, one file per source file
#    (tsc), for Node, Deno and bundlers, with zod as the only bare import at run time;
#  - dist/webdcp.browser.js: browser.ts bundled with zod into one file, for a page's <script type="module">
#    with no build step and no import map;
#  - dist/cli/: the `webdcp` command (bin/webdcp runs dist/cli/main.js), bundled so it loads few files and
#    resolves nothing from node_modules: main.js (the command table and the main help) and one bundle per
#    command, dist/cli/commands/<name>.js, which main.js imports when that command runs. Each command is
#    bundled on its own, not split into chunks shared between commands: the bundler shares code between
#    entries by whole files, and through the folders' mod.ts every command reaches nearly every file, so a
#    shared chunk held (and `inspect` ran) the engine, the writers and S3; on its own, a bundle keeps only
#    the statements its command uses.
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
# The commands are those main.ts's table names; main.js imports commands/<name>.js by a computed specifier,
# which the bundler leaves alone.
commands=$(grep -oE 'name: "[a-z]+"' src/cli/main.ts | sed -E 's#name: "(.*)"#src/cli/commands/\1.ts#')
"$deno" bundle --quiet --platform=deno --format=esm --outdir=dist/cli src/cli/main.ts $commands
