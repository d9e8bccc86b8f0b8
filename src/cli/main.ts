/**
 * `webdcp` command line: `npx webdcp <command> ...` once installed, `deno task webdcp <command> ...` in this
 * repository (also runs under Node). Exit codes: 0 ok, 1 problems or failures, 2 usage errors.
 */
import { UsageError } from "../errors/mod.ts";
import { parseArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { formatError, makeContext } from "./output.ts";
import type { Runtime } from "./runtime.ts";
import { hostRuntime } from "./runtime.ts";
import { exitCodeAfter } from "./stop_signals.ts";

/** A command's name and summary line, and its module, loaded only when it runs. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

// Each command's module is imported on demand: loading them all (the jobs, engine, formats and zod behind
// them) doubled the CPU time of the installed `webdcp --help` under Deno (100 ms against 50 ms).
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "inspect",
    summary: "describe a checkpoint from its metadata/headers only",
    load: async () => (await import("./commands/inspect.ts")).inspectCommand,
  },
  {
    name: "convert",
    summary: "convert between DCP, safetensors and torch.save (casts, model-only, adapters)",
    load: async () => (await import("./commands/convert.ts")).convertCommand,
  },
  {
    name: "reshard",
    summary: "rewrite a checkpoint as DCP with another chunking (ranks, layout, dp-shard x tp)",
    load: async () => (await import("./commands/reshard.ts")).reshardCommand,
  },
  {
    name: "verify",
    summary: "check that a checkpoint is sound (exit 0 sound, 1 problems, 2 usage)",
    load: async () => (await import("./commands/verify.ts")).verifyCommand,
  },
  {
    name: "diff",
    summary: "compare two checkpoints of any formats tensor by tensor",
    load: async () => (await import("./commands/diff.ts")).diffCommand,
  },
  {
    name: "finalize",
    summary: "after all --part runs: write .metadata / model.safetensors.index.json",
    load: async () => (await import("./commands/finalize.ts")).finalizeCommand,
  },
  {
    name: "seed",
    summary: "write a seed checkpoint (step-0, model only) with TorchTitan's initialisation",
    load: async () => (await import("./commands/seed.ts")).seedCommand,
  },
];

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
  try {
    const command = await entry.load();
    const args = parseArgs(rest, command.options);
    if (args.flags.has("help")) {
      rt.out(`${command.help}\n`);
      return 0;
    }
    const ctx = makeContext(rt, args.flags.has("json"), args.flags.has("quiet"));
    return await command.run(args, ctx);
  } catch (e) {
    rt.err(`${formatError(e)}\n`);
    if (e instanceof UsageError) rt.err(`run 'webdcp ${name} --help' for usage\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main ?? isNodeEntry()) {
  const rt = hostRuntime();
  rt.exit(await exitCodeAfter(await runCli(rt)));
}

/**
 * Node has no `import.meta.main` before v24; compare the entry script instead: this file, or its build in
 * the package (dist/cli/main.js, which the installed `webdcp` command runs).
 */
function isNodeEntry(): boolean {
  const entry = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1] ?? "";
  return /[/\\]cli[/\\]main\.[jt]s$/.test(entry);
}
