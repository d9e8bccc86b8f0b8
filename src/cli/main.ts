/**
 * `webdcp` command line: `npx webdcp <command> ...` once installed, `deno task webdcp <command> ...` in this
 * repository (also runs under Node). Exit codes: 0 ok, 1 problems or failures, 2 usage errors.
 */
import { UsageError } from "../errors/mod.ts";
import type { Command } from "./command.ts";
import { formatError } from "./output.ts";
import type { Runtime } from "./runtime.ts";
import { hostRuntime } from "./runtime.ts";

/** A command's name and summary line; its module (`loadCommand`) is loaded only when it runs. */
export interface CommandEntry {
  name: string;
  summary: string;
}

// Each command's module is imported on demand: loading them all (the jobs, engine, formats and zod behind
// them) doubled the CPU time of the installed `webdcp --help` under Deno (100 ms against 50 ms). The
// installed CLI bundles each of these modules on its own (scripts/build.sh), so a command loads only the code
// it reaches: one bundle shared by all would hold, and run, every command's.
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "inspect",
    summary: "describe a checkpoint from its metadata/headers only",
  },
  {
    name: "convert",
    summary: "convert between DCP, safetensors and torch.save (casts, model-only, adapters)",
  },
  {
    name: "reshard",
    summary: "rewrite a checkpoint as DCP with another chunking (ranks, layout, dp-shard x tp)",
  },
  {
    name: "verify",
    summary: "check that a checkpoint is sound (exit 0 sound, 1 problems, 2 usage)",
  },
  {
    name: "diff",
    summary: "compare two checkpoints of any formats tensor by tensor",
  },
  {
    name: "finalize",
    summary: "after all --part runs: write .metadata / model.safetensors.index.json",
  },
  {
    name: "seed",
    summary: "write a seed checkpoint (step-0, model only) with TorchTitan's initialisation",
  },
];

/**
 * The module of command `name`, which exports `<name>Command`: commands/<name>.ts beside this file, or
 * commands/<name>.js beside the installed bundle (dist/cli/main.js). The specifier is computed, not written
 * out: Deno reads and analyses every literal import of the entry before running it, dynamic ones included,
 * and reading the seven command bundles cost `webdcp --help` 10 ms of CPU (24.5 ms against 14.3 ms).
 */
async function loadCommand(name: string): Promise<Command> {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const module = await import(new URL(`./commands/${name}${extension}`, import.meta.url).href);
  return module[`${name}Command`];
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: webdcp <command> [options]

Read, convert, reshard and check PyTorch DCP checkpoints, torch.save files and safetensors.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run 'webdcp <command> --help' for a command's options.
`;
}

/** Runs one command line and returns its exit code (never throws). */
export async function runCli(rt: Runtime): Promise<number> {
  const [name, ...rest] = rt.args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    rt.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    rt.err(`${formatError(new UsageError("E_USAGE", `unknown command '${name}'`))}\n${mainHelp()}`);
    return 2;
  }
  let command: Command;
  try {
    command = await loadCommand(entry.name);
  } catch (e) {
    rt.err(`${formatError(e)}\n`);
    return 1;
  }
  return await command.execute(name, rest, rt);
}

if (import.meta.main ?? isNodeEntry()) {
  const rt = hostRuntime();
  rt.exit(await runCli(rt));
}

/**
 * Node has no `import.meta.main` before v24; compare the entry script instead: this file, or its build in
 * the package (dist/cli/main.js, which the installed `webdcp` command runs).
 */
function isNodeEntry(): boolean {
  const entry = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1] ?? "";
  return /[/\\]cli[/\\]main\.[jt]s$/.test(entry);
}
